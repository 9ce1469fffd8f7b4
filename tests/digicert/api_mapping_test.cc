#include "digicert/api_mapping.h"

#include <gtest/gtest.h>

#include <random>

namespace su::digicert::mapping {
namespace {

using json::Json;

constexpr const char* kToken = "tok-5f1d2c3b4a5968778695a4b3c2d1e0f9";

std::string userText(const Json& extra = Json::object()) {
  Json user = {{"id", "u-1"},
               {"friendly_name", "build one"},
               {"email", "o@example.com"},
               {"status", "ACTIVE"},
               {"end_date", "2027-03-04"},
               {"accounts", {"a1", {{"id", "a2"}}}},
               {"applications", {{{"name", "CA Manager"}, {"roles", {"r1", "r2"}}}}},
               {"created_at", "2026-01-01T00:00:00Z"}};
  user.update(extra);
  return user.dump();
}

TEST(ApiMappingTest, ReadsAUserWithAccountsAsStringsOrObjects) {
  auto user = parseUser(userText(), ApiCompatibility{});
  ASSERT_TRUE(user.ok()) << user.error().describe();
  EXPECT_EQ(user->id, "u-1");
  EXPECT_EQ(user->status, UserStatus::kActive);
  EXPECT_EQ(user->end_date, (Date{2027, 3, 4}));
  EXPECT_EQ(user->accounts, (std::vector<std::string>{"a1", "a2"}));
  ASSERT_EQ(user->access.size(), 1u);
  EXPECT_EQ(user->access[0], (ManagerAccess{"CA Manager", {"r1", "r2"}}));
}

TEST(ApiMappingTest, ReadsAnEndDateGivenAsATimestampOrNull) {
  EXPECT_EQ(parseUser(userText({{"end_date", "2027-05-06T23:59:59Z"}}), {})->end_date,
            (Date{2027, 5, 6}));
  EXPECT_FALSE(parseUser(userText({{"end_date", nullptr}}), {})->end_date.has_value());
}

TEST(ApiMappingTest, ReadsAWrappedUser) {
  auto user = parseUser(Json{{"user", Json::parse(userText())}}.dump(), {});
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->friendly_name, "build one");
}

TEST(ApiMappingTest, MapsEveryStatus) {
  EXPECT_EQ(parseUserStatus("active"), UserStatus::kActive);
  EXPECT_EQ(parseUserStatus("DISABLED"), UserStatus::kDisabled);
  EXPECT_EQ(parseUserStatus("EXPIRED"), UserStatus::kExpired);
  EXPECT_EQ(parseUserStatus("DELETED"), UserStatus::kDeleted);
  EXPECT_EQ(parseUserStatus("PENDING"), UserStatus::kUnknown);
}

TEST(ApiMappingTest, FindsTheTokenAsAString) {
  auto created = parseCreated(userText({{"api_token", kToken}}), {});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->token.reveal(), kToken);
}

TEST(ApiMappingTest, FindsTheTokenInsideAnObject) {
  auto created = parseCreated(userText({{"api_token", {{"id", "t-1"}, {"token", kToken}}}}), {});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->token.reveal(), kToken);
}

TEST(ApiMappingTest, FindsTheTokenUnderAnotherConfiguredName) {
  ApiCompatibility compat;
  compat.token_fields = {"secret_id"};
  compat.token_inner_fields = {"value"};
  auto created = parseCreated(userText({{"secret_id", {{"value", kToken}}}}), compat);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->token.reveal(), kToken);
}

TEST(ApiMappingTest, FindsTheTokenBesideAWrappedUser) {
  Json body = {{"user", Json::parse(userText())}, {"token_id", kToken}};
  auto created = parseCreated(body.dump(), {});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->user.id, "u-1");
  EXPECT_EQ(created->token.reveal(), kToken);
}

TEST(ApiMappingTest, ACreateAnswerWithoutTokenIsAnError) {
  EXPECT_FALSE(parseCreated(userText(), {}).ok());
  EXPECT_FALSE(parseCreated(userText({{"api_token", ""}}), {}).ok());
}

TEST(ApiMappingTest, ReadsABareList) {
  auto page = parseUserPage("[" + userText() + "," + userText({{"id", "u-2"}}) + "]", {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->users.size(), 2u);
  EXPECT_FALSE(page->total.has_value());
}

TEST(ApiMappingTest, ReadsAWrappedListWithItsTotal) {
  Json body = {{"users", {Json::parse(userText())}}, {"total", 7}};
  auto page = parseUserPage(body.dump(), {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->users.size(), 1u);
  EXPECT_EQ(page->total, 7);
}

TEST(ApiMappingTest, AListWithoutAnArrayIsAnError) {
  EXPECT_FALSE(parseUserPage(R"({"things":{}})", {}).ok());
}

TEST(ApiMappingTest, ReadsTheSingleErrorShape) {
  ApiErrorBody e = parseErrorBody(R"({"error":{"code":"invalid_request","message":"bad name"}})");
  EXPECT_EQ(e.code, "invalid_request");
  EXPECT_EQ(e.message, "bad name");
}

TEST(ApiMappingTest, ReadsTheListErrorShape) {
  ApiErrorBody e = parseErrorBody(R"({"errors":[{"code":"access_denied","message":"no"}]})");
  EXPECT_EQ(e.code, "access_denied");
  EXPECT_EQ(e.message, "no");
}

TEST(ApiMappingTest, DuplicateCodeIsAConflictWhatever400Or409) {
  ApiCompatibility compat;
  std::string body = R"({"error":{"code":"duplicate_error","message":"exists"}})";
  EXPECT_EQ(errorFromResponse("create", 400, body, compat, std::nullopt).kind,
            ErrorKind::kConflict);
  EXPECT_EQ(errorFromResponse("create", 409, "", compat, std::nullopt).kind, ErrorKind::kConflict);
  EXPECT_EQ(errorFromResponse("create", 400, R"({"error":{"code":"invalid_request"}})", compat,
                              std::nullopt)
                .kind,
            ErrorKind::kInvalid);
}

TEST(ApiMappingTest, StatusesMapToKinds) {
  ApiCompatibility c;
  EXPECT_EQ(errorFromResponse("x", 401, "", c, std::nullopt).kind, ErrorKind::kUnauthorized);
  EXPECT_EQ(errorFromResponse("x", 403, "", c, std::nullopt).kind, ErrorKind::kForbidden);
  EXPECT_EQ(errorFromResponse("x", 404, "", c, std::nullopt).kind, ErrorKind::kNotFound);
  EXPECT_EQ(errorFromResponse("x", 429, "", c, std::nullopt).kind, ErrorKind::kTransient);
  EXPECT_EQ(errorFromResponse("x", 503, "", c, std::nullopt).kind, ErrorKind::kTransient);
  EXPECT_EQ(errorFromResponse("x", 418, "", c, std::nullopt).kind, ErrorKind::kInternal);
}

TEST(ApiMappingTest, ErrorCarriesStatusCodeMessageAndRetryAfter) {
  Error e = errorFromResponse("list", 429, R"({"errors":[{"code":"rate","message":"later"}]})", {},
                              std::chrono::milliseconds(1500));
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.code, "rate");
  EXPECT_NE(e.message.find("later"), std::string::npos);
  EXPECT_EQ(e.retry_after, std::chrono::milliseconds(1500));
}

TEST(ApiMappingTest, ErrorNeverQuotesABodyThatIsNotAnErrorObject) {
  std::string body = std::string("{\"api_token\":\"") + kToken + "\", broken";
  Error e = errorFromResponse("create", 500, body, {}, std::nullopt);
  EXPECT_EQ(e.describe().find(kToken), std::string::npos);
  auto created = parseCreated(body, {});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().describe().find(kToken), std::string::npos);
}

TEST(ApiMappingTest, RemoteMessagesAreCutShortAndStrippedOfControlCharacters) {
  std::string message(1000, 'x');
  message[3] = '\n';
  Json body = {{"error", {{"code", "c"}, {"message", message}}}};
  ApiErrorBody e = parseErrorBody(body.dump());
  EXPECT_LE(e.message.size(), 300u);
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

TEST(ApiMappingTest, CreateBodyUsesTheConfiguredFieldNames) {
  ApiCompatibility compat;
  compat.end_date_field = "expiry";
  compat.accounts_as_objects = true;
  ServiceUserSpec spec{"n", "d", "e@x.io", Date{2026, 2, 3}, {"a1"}, {{"IoT Trust", {"r"}}}};
  Json body = createBody(spec, compat);
  EXPECT_EQ(body["expiry"], "2026-02-03");
  EXPECT_EQ(body["user_type"], "service");
  EXPECT_EQ(body["accounts"][0]["id"], "a1");
  EXPECT_EQ(body["applications"][0]["name"], "IoT Trust");
  EXPECT_EQ(body["applications"][0]["roles"][0], "r");
  spec.end_date.reset();
  EXPECT_FALSE(createBody(spec, compat).contains("expiry"));
  EXPECT_TRUE(updateBody(spec, compat)["expiry"].is_null());
}

TEST(ApiMappingTest, ReadsAClientCertificate) {
  Json body = {{"id", "c1"},
               {"certificate", "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n"},
               {"serial_number", "0A"},
               {"valid_to", "2027-01-01T23:59:59Z"}};
  auto cert = parseClientCertificate(body.dump(), {});
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->serial, "0A");
  EXPECT_EQ(cert->not_after, "2027-01-01T23:59:59Z");
  EXPECT_FALSE(parseClientCertificate(R"({"id":"c1"})", {}).ok());
}

TEST(ClientAuthUrlTest, PutsClientauthBeforeTheHost) {
  EXPECT_EQ(clientAuthUrl("https://one.digicert.com"), "https://clientauth.one.digicert.com");
  EXPECT_EQ(clientAuthUrl("https://demo.one.nl.digicert.com:443"),
            "https://clientauth.demo.one.nl.digicert.com:443");
  EXPECT_EQ(clientAuthUrl("https://clientauth.one.digicert.com"),
            "https://clientauth.one.digicert.com");
  EXPECT_EQ(clientAuthUrl("https://127.0.0.1:8443"), "https://127.0.0.1:8443");
}

TEST(ClientAuthUrlTest, RegionsHaveTheirDocumentedHosts) {
  EXPECT_EQ(regionBaseUrl(Region::kUnitedStates, false), "https://one.digicert.com");
  EXPECT_EQ(regionBaseUrl(Region::kSwitzerland, true), "https://demo.one.ch.digicert.com");
  EXPECT_EQ(regionBaseUrl(Region::kNetherlands, false), "https://one.nl.digicert.com");
  EXPECT_EQ(regionBaseUrl(Region::kJapan, false), "https://one.digicert.co.jp");
}

TEST(ClientOptionsTest, AClientNeedsAUrlAndACredential) {
  SystemClock clock;
  ClientOptions options;
  EXPECT_EQ(makeAccountManager(options, clock).error().kind, ErrorKind::kInvalid);
  options.base_url = "https://127.0.0.1:1";
  EXPECT_EQ(makeAccountManager(options, clock).error().kind, ErrorKind::kInvalid);
  options.api_key = SecretString("k-123456");
  EXPECT_TRUE(makeAccountManager(options, clock).ok());
}

// Bounded randomized fuzzing: mutated valid answers and random bytes never crash a parser, and
// no error text ever contains the token that was in the input.
class ParserFuzzTest : public ::testing::Test {
 protected:
  std::string mutate(std::string text) {
    std::uniform_int_distribution<int> op(0, 3), byte(0, 255);
    int edits = std::uniform_int_distribution<int>(1, 8)(rng_);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng_);
      switch (op(rng_)) {
        case 0:
          text[at] = static_cast<char>(byte(rng_));
          break;
        case 1:
          text.erase(at, std::uniform_int_distribution<size_t>(1, 16)(rng_));
          break;
        case 2:
          text.insert(at, 1, "{}[]\":,0n\\"[byte(rng_) % 10]);
          break;
        default:
          text = text.substr(0, at);
      }
    }
    return text;
  }

  void expectNoToken(const Error& e) {
    ASSERT_EQ(e.describe().find(kToken), std::string::npos) << e.describe();
  }

  std::mt19937 rng_{20240611};
};

TEST_F(ParserFuzzTest, MutatedAnswersNeverCrashAndNeverQuoteTheToken) {
  ApiCompatibility compat;
  std::vector<std::string> seeds = {
      userText({{"api_token", kToken}}),
      userText({{"api_token", {{"token", kToken}}}}),
      Json{{"items", {Json::parse(userText())}}, {"total", 1}}.dump(),
      "[" + userText() + "]",
      R"({"error":{"code":"duplicate_error","message":")" + std::string(kToken) + R"("}})",
      R"({"errors":[{"code":"x","message":"y"}]})",
  };
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = mutate(seeds[static_cast<size_t>(i) % seeds.size()]);
    auto created = parseCreated(input, compat);
    if (created.ok()) ++parsed;
    if (!created.ok()) expectNoToken(created.error());
    auto page = parseUserPage(input, compat);
    if (!page.ok()) expectNoToken(page.error());
    auto user = parseUser(input, compat);
    if (!user.ok()) expectNoToken(user.error());
    auto cert = parseClientCertificate(input, compat);
    if (!cert.ok()) expectNoToken(cert.error());
    (void)parseErrorBody(input);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(parsed, 0) << "some mutations stay valid, so the happy path is exercised too";
}

}  // namespace
}  // namespace su::digicert::mapping
