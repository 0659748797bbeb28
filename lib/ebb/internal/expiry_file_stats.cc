// Copyright ebb authors.

#include "lib/ebb/internal/expiry_file_stats.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/ebb/internal/record_codec.h"

namespace ebb::internal {
namespace {

// Running counts of one (category, creation day) in the current section.
struct GroupCounter {
  v1::DataCategory category;
  int64_t created_day;
  uint64_t messages = 0, bytes = 0, conversations = 0;
  int64_t min_created_at_micros = 0, max_created_at_micros = 0;
  std::string first_conversation, last_conversation;
};

struct SectionCounter {
  ExpiryBucket bucket;
  TenantNumber tenant;
  std::string first_key, last_key;
  uint64_t undecodable = 0;
  std::vector<GroupCounter> groups;
};

// One per SST file. RocksDB calls AddUserKey in key order for the file's point
// entries, from one thread.
class ExpiryFileStatsCollector : public rocksdb::TablePropertiesCollector {
 public:
  explicit ExpiryFileStatsCollector(int64_t day_start_micros)
      : day_start_micros_(day_start_micros) {}

  rocksdb::Status AddUserKey(const rocksdb::Slice& key,
                             const rocksdb::Slice& value,
                             rocksdb::EntryType type,
                             rocksdb::SequenceNumber /*seq*/,
                             uint64_t /*file_size*/) override {
    const absl::string_view key_view(key.data(), key.size());
    const std::optional<MessageKeyParts> parts =
        type == rocksdb::kEntryPut ? ParseMessageKey(key_view) : std::nullopt;
    if (!parts.has_value()) {
      ++other_entries_;
      return rocksdb::Status::OK();
    }
    if (sections_.empty() || sections_.back().bucket != parts->bucket ||
        sections_.back().tenant != parts->tenant) {
      CloseSection();
      sections_.push_back(SectionCounter{
          parts->bucket, parts->tenant, std::string(key_view), "", 0, {}});
      group_ = nullptr;
    }
    last_key_.assign(key.data(), key.size());
    SectionCounter& section = sections_.back();
    const std::optional<RecordHeader> header =
        DecodeRecordHeader(absl::string_view(value.data(), value.size()));
    if (!header.has_value()) {
      ++section.undecodable;
      return rocksdb::Status::OK();
    }
    const int64_t day =
        DayOfMicros(header->created_at_micros, day_start_micros_);
    // A conversation's messages usually share a group: try the last one.
    if (group_ == nullptr || group_->category != header->category ||
        group_->created_day != day) {
      group_ = nullptr;
      for (GroupCounter& g : section.groups) {
        if (g.category == header->category && g.created_day == day) {
          group_ = &g;
          break;
        }
      }
      if (group_ == nullptr) {
        section.groups.emplace_back();
        section.groups.back().category = header->category;
        section.groups.back().created_day = day;
        group_ = &section.groups.back();
        group_->min_created_at_micros = header->created_at_micros;
        group_->max_created_at_micros = header->created_at_micros;
      }
    }
    GroupCounter& group = *group_;
    ++group.messages;
    group.bytes += key.size() + value.size();
    group.min_created_at_micros =
        std::min(group.min_created_at_micros, header->created_at_micros);
    group.max_created_at_micros =
        std::max(group.max_created_at_micros, header->created_at_micros);
    if (group.conversations == 0) {
      group.first_conversation = std::string(parts->conversation);
    }
    if (group.conversations == 0 ||
        group.last_conversation != parts->conversation) {
      ++group.conversations;
      group.last_conversation.assign(parts->conversation.data(),
                                     parts->conversation.size());
    }
    return rocksdb::Status::OK();
  }

  rocksdb::Status Finish(
      rocksdb::UserCollectedProperties* properties) override {
    CloseSection();
    v1::ExpiryFileStats stats;
    stats.set_other_entries(other_entries_);
    stats.set_day_start_micros(day_start_micros_);
    for (SectionCounter& s : sections_) {
      v1::ExpirySection* section = stats.add_sections();
      section->set_bucket(s.bucket);
      section->set_tenant(s.tenant);
      section->set_first_key(std::move(s.first_key));
      section->set_last_key(std::move(s.last_key));
      section->set_undecodable(s.undecodable);
      std::sort(s.groups.begin(), s.groups.end(),
                [](const GroupCounter& a, const GroupCounter& b) {
                  return std::tie(a.category, a.created_day) <
                         std::tie(b.category, b.created_day);
                });
      for (GroupCounter& g : s.groups) {
        v1::ExpiryGroupStats* group = section->add_groups();
        group->set_category(g.category);
        group->set_created_day(g.created_day);
        group->set_messages(g.messages);
        group->set_bytes(g.bytes);
        group->set_conversations(g.conversations);
        group->set_first_conversation(std::move(g.first_conversation));
        group->set_last_conversation(std::move(g.last_conversation));
        group->set_min_created_at_micros(g.min_created_at_micros);
        group->set_max_created_at_micros(g.max_created_at_micros);
      }
    }
    properties->emplace(kExpiryFileStatsProperty, stats.SerializeAsString());
    return rocksdb::Status::OK();
  }

  rocksdb::UserCollectedProperties GetReadableProperties() const override {
    return {
        {"ebb.expiry-file-stats.sections", absl::StrCat(sections_.size())},
        {"ebb.expiry-file-stats.other-entries", absl::StrCat(other_entries_)}};
  }

  const char* Name() const override { return "ebb.ExpiryFileStatsCollector"; }

 private:
  void CloseSection() {
    if (!sections_.empty() && sections_.back().last_key.empty()) {
      sections_.back().last_key = last_key_;
    }
  }

  uint64_t other_entries_ = 0;
  std::vector<SectionCounter> sections_;
  std::string last_key_;
  GroupCounter* group_ = nullptr;  // in sections_.back().groups
  const int64_t day_start_micros_;
};

class ExpiryFileStatsCollectorFactory
    : public rocksdb::TablePropertiesCollectorFactory {
 public:
  explicit ExpiryFileStatsCollectorFactory(
      std::shared_ptr<const std::atomic<int64_t>> day_start_micros)
      : day_start_micros_(std::move(day_start_micros)) {}

  rocksdb::TablePropertiesCollector* CreateTablePropertiesCollector(
      rocksdb::TablePropertiesCollectorFactory::Context /*context*/) override {
    return new ExpiryFileStatsCollector(
        day_start_micros_->load(std::memory_order_acquire));
  }
  const char* Name() const override {
    return "ebb.ExpiryFileStatsCollectorFactory";
  }

 private:
  const std::shared_ptr<const std::atomic<int64_t>> day_start_micros_;
};

bool SectionBefore(const v1::ExpirySection& s, ExpiryBucket bucket,
                   TenantNumber tenant) {
  return std::make_pair(s.bucket(), s.tenant()) <
         std::make_pair(bucket, tenant);
}

}  // namespace

std::shared_ptr<rocksdb::TablePropertiesCollectorFactory>
NewExpiryFileStatsCollectorFactory(
    std::shared_ptr<const std::atomic<int64_t>> day_start_micros) {
  return std::make_shared<ExpiryFileStatsCollectorFactory>(
      std::move(day_start_micros));
}

const FileStatsCounter::File& FileStatsCounter::Decode(
    const std::string& path, const rocksdb::TableProperties& properties) {
  std::unique_ptr<File>& file = files_[path];
  if (file != nullptr) return *file;
  file = std::make_unique<File>();
  v1::ExpiryFileStats* stats =
      google::protobuf::Arena::CreateMessage<v1::ExpiryFileStats>(arena_.get());
  file->stats = stats;
  const auto found =
      properties.user_collected_properties.find(kExpiryFileStatsProperty);
  if (found == properties.user_collected_properties.end() ||
      !stats->ParseFromString(found->second) || stats->other_entries() != 0 ||
      stats->day_start_micros() != day_start_micros_ ||
      properties.num_deletions != 0 || properties.num_merge_operands != 0 ||
      properties.num_range_deletions != 0) {
    return *file;
  }
  // Count looks sections up by binary search: they must be in key order.
  const auto& sections = stats->sections();
  for (int i = 1; i < sections.size(); ++i) {
    if (!SectionBefore(sections[i - 1], sections[i].bucket(),
                       sections[i].tenant())) {
      return *file;
    }
  }
  file->usable = true;
  return *file;
}

bool FileStatsCounter::AllUsable(
    const rocksdb::TablePropertiesCollection& files) {
  for (const auto& [path, properties] : files) {
    if (properties == nullptr || !Decode(path, *properties).usable) {
      return false;
    }
  }
  return true;
}

std::optional<std::vector<ExpiryCounts>> FileStatsCounter::Count(
    const rocksdb::TablePropertiesCollection& files, ExpiryBucket bucket,
    TenantNumber tenant) {
  return std::move(CountEach(files, {bucket}, tenant)[0]);
}

std::vector<std::optional<std::vector<ExpiryCounts>>>
FileStatsCounter::CountEach(const rocksdb::TablePropertiesCollection& files,
                            absl::Span<const ExpiryBucket> buckets,
                            TenantNumber tenant) {
  std::vector<std::optional<std::vector<ExpiryCounts>>> out(buckets.size());
  // Each file with the first and last bucket its sections (in key order)
  // cover: a file that does not reach a bucket has no section for it.
  struct Reach {
    const File* file;
    ExpiryBucket first, last;
  };
  std::vector<Reach> reaches;
  for (const auto& [path, properties] : files) {
    if (properties == nullptr) return out;
    const File& file = Decode(path, *properties);
    if (!file.usable) return out;
    const auto& sections = file.stats->sections();
    if (sections.empty()) continue;
    reaches.push_back(
        {&file, sections[0].bucket(), sections[sections.size() - 1].bucket()});
  }
  std::vector<const File*> touching;
  for (size_t i = 0; i < buckets.size(); ++i) {
    touching.clear();
    for (const Reach& reach : reaches) {
      if (reach.first <= buckets[i] && buckets[i] <= reach.last) {
        touching.push_back(reach.file);
      }
    }
    out[i] = CountIn(touching, buckets[i], tenant);
  }
  return out;
}

std::optional<std::vector<ExpiryCounts>> FileStatsCounter::CountIn(
    absl::Span<const File* const> files, ExpiryBucket bucket,
    TenantNumber tenant) {
  std::vector<const v1::ExpirySection*> sections;
  for (const File* file : files) {
    const auto& all = file->stats->sections();
    const auto it = std::lower_bound(
        all.begin(), all.end(), std::make_pair(bucket, tenant),
        [](const v1::ExpirySection& s,
           const std::pair<ExpiryBucket, TenantNumber>& wanted) {
          return SectionBefore(s, wanted.first, wanted.second);
        });
    if (it == all.end() || it->bucket() != bucket || it->tenant() != tenant) {
      continue;  // the file only touches the range's edge
    }
    if (it->undecodable() != 0) return std::nullopt;
    sections.push_back(&*it);
  }
  std::sort(sections.begin(), sections.end(),
            [](const v1::ExpirySection* a, const v1::ExpirySection* b) {
              return a->first_key() < b->first_key();
            });
  for (size_t i = 1; i < sections.size(); ++i) {
    if (sections[i]->first_key() <= sections[i - 1]->last_key()) {
      return std::nullopt;  // not one sorted run
    }
  }

  struct Merged {
    ExpiryCounts counts;
    std::string last_conversation;
  };
  std::map<std::pair<int, int64_t>, Merged> merged;
  for (const v1::ExpirySection* section : sections) {
    for (const v1::ExpiryGroupStats& group : section->groups()) {
      if (!IsStoredCategory(group.category()) || group.messages() == 0 ||
          group.conversations() == 0 ||
          group.conversations() > group.messages() ||
          group.min_created_at_micros() > group.max_created_at_micros()) {
        return std::nullopt;  // not what the collector writes
      }
      auto [it, inserted] =
          merged.try_emplace({group.category(), group.created_day()});
      ExpiryCounts& counts = it->second.counts;
      if (inserted) {
        counts.category = group.category();
        counts.created_day = group.created_day();
        counts.min_created_at_micros = group.min_created_at_micros();
        counts.max_created_at_micros = group.max_created_at_micros();
      } else {
        counts.min_created_at_micros = std::min(counts.min_created_at_micros,
                                                group.min_created_at_micros());
        counts.max_created_at_micros = std::max(counts.max_created_at_micros,
                                                group.max_created_at_micros());
      }
      counts.messages += group.messages();
      counts.bytes += group.bytes();
      counts.conversations += group.conversations();
      // The conversation the previous file ended with goes on here.
      if (!inserted &&
          it->second.last_conversation == group.first_conversation()) {
        --counts.conversations;
      }
      it->second.last_conversation = group.last_conversation();
    }
  }
  std::vector<ExpiryCounts> out;
  out.reserve(merged.size());
  for (auto& [key, m] : merged) out.push_back(m.counts);
  return out;
}

}  // namespace ebb::internal
