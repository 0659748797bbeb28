// Copyright ebb authors.

#include "bench/bench_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ebb::bench {
namespace {

// Words a support chat is made of; the mix compresses roughly like real text.
constexpr absl::string_view kWords[] = {
    "hi",       "hello",      "thanks",   "order",    "my",
    "the",      "is",         "where",    "can",      "you",
    "help",     "me",         "with",     "account",  "password",
    "reset",    "shipping",   "delivery", "refund",   "please",
    "check",    "status",     "number",   "today",    "yesterday",
    "tomorrow", "invoice",    "payment",  "card",     "failed",
    "again",    "sorry",      "for",      "the",      "delay",
    "I",        "understand", "let",      "look",     "into",
    "that",     "a",          "moment",   "it",       "was",
    "sent",     "to",         "your",     "address",  "on",
    "file",     "tracking",   "link",     "email",    "confirm",
    "received", "not",        "yet",      "arrived",  "package",
    "damaged",  "replace",    "item",     "size",     "colour",
    "return",   "label",      "store",    "credit",   "subscription",
    "cancel",   "plan",       "upgrade",  "billing",  "cycle",
    "next",     "week",       "and",      "or",       "but",
    "so",       "if",         "there",    "anything", "else",
    "great",    "day",        "ok",       "sure",     "of",
    "course",   "we",         "have",     "updated",  "ticket",
    "agent",
};

}  // namespace

absl::Time BenchNow() {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 10, 12, 0, 0),
                         absl::UTCTimeZone());
}

ScratchDir::ScratchDir(absl::string_view label) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(base != nullptr ? base : "/tmp",
                                   "/ebb-bench-", label, "-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror(templ.c_str());
    std::abort();
  }
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ChatGenerator::ChatGenerator(const ChatOptions& options)
    : options_(options),
      rng_(options.seed),
      next_conversation_number_(options.tenants, 0) {
  for (int i = 0; i < options_.active_conversations; ++i) {
    open_.push_back(StartConversation());
  }
}

ChatGenerator::Open ChatGenerator::StartConversation() {
  Open open;
  open.tenant = static_cast<int>(rng_() % options_.tenants);
  open.user = static_cast<int>(rng_() % options_.users_per_tenant);
  open.next_seq = 1;
  const int length =
      options_.min_conversation_length +
      static_cast<int>(rng_() % (options_.max_conversation_length -
                                 options_.min_conversation_length + 1));
  // Whole seconds back from now, in [length * step, spread): the last message
  // is before now, the first no earlier than now - spread.
  const int64_t min_back = length * absl::ToInt64Seconds(options_.step);
  const int64_t room = absl::ToInt64Seconds(options_.spread) - min_back;
  const int64_t back =
      min_back + (room > 0 ? static_cast<int64_t>(rng_() % room) : 0);
  open.start = options_.now - absl::Seconds(back);
  // Ids carry the start day, as a chat backend's would.
  const absl::CivilDay day = absl::ToCivilDay(open.start, absl::UTCTimeZone());
  conversations_.push_back(
      {absl::StrFormat("tenant-%03d", open.tenant),
       absl::StrFormat("conv-%04d-%02d-%02d-%06d", day.year(), day.month(),
                       day.day(), next_conversation_number_[open.tenant]++),
       length});
  open.ref = conversations_.size() - 1;
  return open;
}

void ChatText(std::mt19937_64& rng, int mean_bytes, std::string* text) {
  const int target =
      mean_bytes * 3 / 4 + static_cast<int>(rng() % (mean_bytes / 2 + 1));
  text->clear();
  while (static_cast<int>(text->size()) < target) {
    if (!text->empty()) text->push_back(' ');
    const absl::string_view word = kWords[rng() % std::size(kWords)];
    text->append(word.data(), word.size());
  }
  text->resize(target);
  text->back() = '.';
}

void ChatGenerator::FillText(std::string* text) {
  ChatText(rng_, options_.text_bytes, text);
}

void ChatGenerator::Fill(const Open& open, v1::Message* m) {
  const ConversationRef& ref = conversations_[open.ref];
  m->Clear();
  m->set_tenant(ref.tenant);
  m->set_user(absl::StrFormat("user-%05d", open.user));
  m->set_conversation(ref.conversation);
  m->set_seq(static_cast<uint64_t>(open.next_seq));
  m->set_role(open.next_seq % 2 == 1 ? v1::ROLE_USER : v1::ROLE_ASSISTANT);
  FillText(m->mutable_text());
  const absl::Time created_at =
      open.start + options_.step * (open.next_seq - 1);
  m->mutable_created_at()->set_seconds(absl::ToUnixSeconds(created_at));
  m->mutable_created_at()->set_nanos(0);
  m->set_category(v1::CATEGORY_TRANSCRIPT);
}

uint64_t ChatGenerator::Next(size_t n, std::vector<v1::Message>* out) {
  out->resize(n);
  uint64_t bytes = 0;
  for (v1::Message& m : *out) {
    const size_t slot = rng_() % open_.size();
    Open& open = open_[slot];
    Fill(open, &m);
    bytes += m.ByteSizeLong();
    if (++open.next_seq > conversations_[open.ref].length) {
      open = StartConversation();
    }
  }
  return bytes;
}

uint64_t ChatGenerator::OnePerTenant(std::vector<v1::Message>* out) {
  out->resize(options_.tenants);
  uint64_t bytes = 0;
  for (int t = 0; t < options_.tenants; ++t) {
    v1::Message& m = (*out)[t];
    m.Clear();
    m.set_tenant(absl::StrFormat("tenant-%03d", t));
    m.set_user("user-00000");
    m.set_conversation("conv-warmup");
    m.set_seq(1);
    m.set_role(v1::ROLE_SYSTEM);
    FillText(m.mutable_text());
    m.mutable_created_at()->set_seconds(absl::ToUnixSeconds(options_.now));
    m.set_category(v1::CATEGORY_TRANSCRIPT);
    bytes += m.ByteSizeLong();
  }
  return bytes;
}

std::string RawKeyPrefix(absl::string_view tenant,
                         absl::string_view conversation) {
  std::string prefix;
  prefix.reserve(tenant.size() + conversation.size() + 2);
  prefix.append(tenant.data(), tenant.size());
  prefix.push_back('\0');
  prefix.append(conversation.data(), conversation.size());
  prefix.push_back('\0');
  return prefix;
}

void AppendRawKey(absl::string_view tenant, absl::string_view conversation,
                  uint64_t seq, std::string* out) {
  out->append(tenant.data(), tenant.size());
  out->push_back('\0');
  out->append(conversation.data(), conversation.size());
  out->push_back('\0');
  char buf[8];
  absl::big_endian::Store64(buf, seq);
  out->append(buf, 8);
}

}  // namespace ebb::bench
