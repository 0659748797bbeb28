// Copyright ebb authors.

#include "lib/ebb/internal/validation.h"

#include <string>

#include "gtest/gtest.h"

namespace ebb::internal {
namespace {

TEST(ValidateIdTest, AcceptsPrintableUtf8UpToTheLimit) {
  EXPECT_TRUE(ValidateId("tenant id", "acme").ok());
  EXPECT_TRUE(ValidateId("tenant id", "caf\xc3\xa9 \xf0\x9f\x98\x80").ok());
  EXPECT_TRUE(ValidateId("tenant id", std::string(kMaxIdBytes, 'x')).ok());
}

TEST(ValidateIdTest, RefusesEmptyTooLongControlAndBadUtf8WithoutEchoingTheId) {
  EXPECT_EQ(ValidateId("user id", "").message(), "user id is empty");
  EXPECT_EQ(ValidateId("user id", std::string(kMaxIdBytes + 1, 'x')).message(),
            "user id is 257 bytes long; at most 256 are allowed");
  EXPECT_EQ(ValidateId("user id", std::string("ab\0", 3)).message(),
            "user id contains control byte 0x00 at offset 2");
  EXPECT_EQ(ValidateId("user id", "a\x7f").message(),
            "user id contains control byte 0x7F at offset 1");
  EXPECT_EQ(ValidateId("user id", "ok\xc3(").message(),
            "user id is not valid UTF-8 (bad byte at offset 2)");
  EXPECT_EQ(ValidateId("user id", "x").code(), absl::StatusCode::kOk);
  EXPECT_EQ(ValidateId("user id", "").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateUtf8Test, RefusesOverlongsSurrogatesAndTruncatedSequences) {
  EXPECT_TRUE(ValidateUtf8("text", "").ok());
  EXPECT_TRUE(ValidateUtf8("text", std::string("nul\0ok", 6)).ok());
  EXPECT_FALSE(ValidateUtf8("text", "\xc0\xaf").ok());          // overlong '/'
  EXPECT_FALSE(ValidateUtf8("text", "\xed\xa0\x80").ok());      // surrogate
  EXPECT_FALSE(ValidateUtf8("text", "\xf4\x90\x80\x80").ok());  // > U+10FFFF
  EXPECT_EQ(ValidateUtf8("text", "abc\xe2\x82").message(),
            "text is not valid UTF-8 (bad byte at offset 3)");
}

}  // namespace
}  // namespace ebb::internal
