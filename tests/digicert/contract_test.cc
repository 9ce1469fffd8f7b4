// The Account Manager client against a live API: digicert-sim by default, or a real DigiCert ONE
// demo tenant when SU_DIGICERT_URL and SU_DIGICERT_API_KEY are set (see
// tools/digicert-sim/README.md). Cases that inject faults or move the clock run on the simulator
// only and print a note when skipped.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <thread>

#include "contract_fixture.h"
#include "digicert/account_manager.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pem.h"
#include "sim_tls.h"
#include "support/wait.h"

namespace su::digicert {
namespace {

using json::Json;
using testing::ContractTarget;
using testing::rememberError;
using testing::rememberToken;
using Steady = std::chrono::steady_clock;

int64_t millisSince(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

class ContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sim() != nullptr) sim()->control("POST", "/control/reset");
  }

  void TearDown() override {
    if (sim() != nullptr) sim()->control("DELETE", "/control/faults");
    if (created_.empty()) return;
    auto cleaner = makeAccountManager(target().options(), clock_);
    if (!cleaner) return;
    for (const auto& id : created_) (void)cleaner.value()->deleteServiceUser(id);
  }

  static ContractTarget& target() { return ContractTarget::get(); }
  static testing::SimProcess* sim() { return target().sim(); }

  std::unique_ptr<AccountManager> client(ClientOptions options) {
    auto made = makeAccountManager(options, clock_);
    EXPECT_TRUE(made.ok()) << made.error().describe();
    return made ? std::move(made).value() : nullptr;
  }
  std::unique_ptr<AccountManager> client() { return client(target().options()); }

  // Creates a user that the test's end deletes again; fails the test when the create fails.
  CreatedServiceUser create(AccountManager& am, const ServiceUserSpec& spec) {
    auto created = am.createServiceUser(spec);
    if (!created) {
      rememberError(created.error());
      ADD_FAILURE() << created.error().describe();
      return {};
    }
    rememberToken(created->token);
    created_.push_back(created->user.id);
    return std::move(created).value();
  }

  template <typename T>
  ErrorKind failure(const Result<T>& result) {
    EXPECT_FALSE(result.ok());
    if (result.ok()) return ErrorKind::kInternal;
    rememberError(result.error());
    return result.error().kind;
  }
  ErrorKind failure(const Status& status) {
    EXPECT_FALSE(status.ok());
    if (status.ok()) return ErrorKind::kInternal;
    rememberError(status.error());
    return status.error().kind;
  }

  // Whether a service user's token is accepted right now (GET /user/me with it).
  bool tokenWorks(const SecretString& token) {
    ClientOptions options = target().options();
    options.api_key = token;
    options.max_attempts = 1;
    auto me = fetchCaller(options, clock_);
    if (!me) rememberError(me.error());
    return me.ok();
  }

  static Date today() { return dateOf(std::chrono::system_clock::now()); }
  static Date daysFromToday(int days) {
    return dateOf(std::chrono::system_clock::now() + std::chrono::hours(24 * days));
  }

  SystemClock clock_;
  std::vector<std::string> created_;
};

// ---- every call ----------------------------------------------------------------------------

TEST_F(ContractTest, CreateReturnsTheTokenOnceAndGetAndListNeverShowIt) {
  auto am = client();
  ServiceUserSpec spec = target().spec("create");
  spec.end_date = daysFromToday(30);
  CreatedServiceUser created = create(*am, spec);

  ASSERT_FALSE(created.token.empty());
  EXPECT_EQ(created.user.friendly_name, spec.friendly_name);
  EXPECT_EQ(created.user.status, UserStatus::kActive);
  EXPECT_EQ(created.user.end_date, spec.end_date);
  auto got = am->getServiceUser(created.user.id);
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_EQ(got->email, spec.email);
  EXPECT_EQ(got->accounts, spec.accounts);
  ASSERT_EQ(got->access.size(), 1u);
  EXPECT_EQ(got->access[0].manager, spec.access[0].manager);
  EXPECT_TRUE(tokenWorks(created.token));

  if (sim() != nullptr) {
    std::string everything = json::dump(sim()->state());
    EXPECT_EQ(everything.find(created.token.reveal()), std::string::npos);
    // The simulator saves its state a moment after a change.
    std::string on_disk;
    EXPECT_TRUE(su::testing::eventually([&] {
      on_disk = su::testing::readFile(sim()->stateDir() + "/state.json");
      return on_disk.find(created.user.id) != std::string::npos;
    })) << "the created user never reached the state file";
    EXPECT_EQ(on_disk.find(created.token.reveal()), std::string::npos);
  }
}

TEST_F(ContractTest, DuplicateFriendlyNameIsAConflict) {
  auto am = client();
  ServiceUserSpec spec = target().spec("dup");
  create(*am, spec);

  auto again = am->createServiceUser(spec);
  EXPECT_EQ(failure(again), ErrorKind::kConflict);
  EXPECT_EQ(again.error().code, "duplicate_error");
}

TEST_F(ContractTest, FriendlyNameWithForbiddenCharactersIsInvalid) {
  auto am = client();
  ServiceUserSpec spec = target().spec("bad");
  spec.friendly_name += "!/*";

  auto result = am->createServiceUser(spec);
  EXPECT_EQ(failure(result), ErrorKind::kInvalid);
  EXPECT_EQ(result.error().http_status, 400);
  EXPECT_EQ(result.error().code, "invalid_request");
}

TEST_F(ContractTest, WrongApiKeyIsUnauthorized) {
  ClientOptions options = target().options();
  options.api_key = SecretString("not-a-key-" + testing::uniqueSuffix());
  auto am = client(options);

  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kUnauthorized);
  EXPECT_EQ(result.error().code, "invalid_api_key");
  EXPECT_EQ(result.error().message.find(options.api_key.reveal()), std::string::npos);
}

TEST_F(ContractTest, UnknownUserIsNotFound) {
  auto am = client();
  EXPECT_EQ(failure(am->getServiceUser("00000000-0000-4000-8000-00000000dead")),
            ErrorKind::kNotFound);
}

TEST_F(ContractTest, ListPagesThroughSeveralPagesAndFindsByFriendlyName) {
  ClientOptions options = target().options();
  options.compat.page_size = 3;
  auto am = client(options);
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i)
    names.push_back(create(*am, target().spec("page")).user.friendly_name);

  auto all = am->listServiceUsers();
  ASSERT_TRUE(all.ok()) << all.error().describe();
  for (const auto& name : names) {
    EXPECT_EQ(std::count_if(all->begin(), all->end(),
                            [&](const ServiceUser& u) { return u.friendly_name == name; }),
              1)
        << name;
  }
  auto last = am->findByFriendlyName(names.back());
  ASSERT_TRUE(last.ok()) << last.error().describe();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->friendly_name, names.back());
  auto none = am->findByFriendlyName("ct-absent-" + testing::uniqueSuffix());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  if (sim() != nullptr) {
    EXPECT_GE(sim()->calls("GET /account/api/v1/user"), 3 + 4);
  }
}

TEST_F(ContractTest, UpdateChangesEndDateDescriptionAndAccess) {
  auto am = client();
  ServiceUserSpec spec = target().spec("update");
  spec.end_date = daysFromToday(10);
  CreatedServiceUser created = create(*am, spec);

  spec.end_date = daysFromToday(40);
  spec.description = "extended";
  ASSERT_TRUE(am->updateServiceUser(created.user.id, spec).ok());
  auto got = am->getServiceUser(created.user.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->end_date, spec.end_date);
  EXPECT_EQ(got->description, "extended");
  EXPECT_TRUE(tokenWorks(created.token));
}

TEST_F(ContractTest, DisabledUsersTokenIsRefusedAtOnceAndEnableRestoresIt) {
  auto am = client();
  CreatedServiceUser created = create(*am, target().spec("disable"));
  ASSERT_TRUE(tokenWorks(created.token));

  ASSERT_TRUE(am->disableServiceUser(created.user.id).ok());
  EXPECT_FALSE(tokenWorks(created.token));
  EXPECT_EQ(am->getServiceUser(created.user.id)->status, UserStatus::kDisabled);

  ASSERT_TRUE(am->enableServiceUser(created.user.id).ok());
  EXPECT_TRUE(tokenWorks(created.token));
}

TEST_F(ContractTest, DeletedUsersTokenIsRefusedAndTheUserIsGone) {
  auto am = client();
  CreatedServiceUser created = create(*am, target().spec("delete"));
  ASSERT_TRUE(tokenWorks(created.token));

  ASSERT_TRUE(am->deleteServiceUser(created.user.id).ok());
  EXPECT_FALSE(tokenWorks(created.token));
  EXPECT_EQ(failure(am->getServiceUser(created.user.id)), ErrorKind::kNotFound);
  EXPECT_EQ(failure(am->deleteServiceUser(created.user.id)), ErrorKind::kNotFound);
  auto found = am->findByFriendlyName(created.user.friendly_name);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(ContractTest, ClientCertificateComesFromALocalCsrAndTheKeyStaysLocal) {
  auto am = client();
  ServiceUserSpec spec = target().spec("cert");
  spec.end_date = daysFromToday(20);
  CreatedServiceUser created = create(*am, spec);
  auto key = pki::generateKey(pki::KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  pki::CsrSubject subject;
  subject.common_name = spec.friendly_name;
  auto csr = pki::makeCsrPem(key->get(), subject);
  ASSERT_TRUE(csr.ok());

  auto cert = am->requestClientCertificate(created.user.id, *csr, "build", spec.end_date);
  ASSERT_TRUE(cert.ok()) << cert.error().describe();
  auto parsed = pki::parseCertificates(cert->certificate_pem, "the issued certificate");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(X509_check_private_key(parsed->front().get(), key->get()), 1);
  EXPECT_FALSE(cert->serial.empty());
  auto not_after = pki::notAfter(parsed->front().get());
  ASSERT_TRUE(not_after.ok());
  EXPECT_LE(*not_after, std::chrono::system_clock::to_time_t(endOfDay(*spec.end_date)));
  if (sim() != nullptr) {
    EXPECT_EQ(*not_after, std::chrono::system_clock::to_time_t(endOfDay(*spec.end_date)));
    EXPECT_FALSE(json::getBool(sim()->state(), "private_key_material_seen").value_or(true));
  }
}

TEST_F(ContractTest, ClientCertificateCannotOutliveItsUser) {
  auto am = client();
  ServiceUserSpec spec = target().spec("certlong");
  spec.end_date = daysFromToday(5);
  CreatedServiceUser created = create(*am, spec);
  auto key = pki::generateKey(pki::KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto csr = pki::makeCsrPem(key->get(), {});
  ASSERT_TRUE(csr.ok());

  auto cert = am->requestClientCertificate(created.user.id, *csr, "too-long", daysFromToday(50));
  EXPECT_EQ(failure(cert), ErrorKind::kInvalid);
}

TEST_F(ContractTest, ClientRefusesToSendAPrivateKeyAsCsr) {
  auto am = client();
  auto key = pki::generateKey(pki::KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto pem = pki::privateKeyPem(key->get());
  ASSERT_TRUE(pem.ok());
  auto cert = am->requestClientCertificate("any", pem->reveal(), "oops", std::nullopt);
  EXPECT_EQ(failure(cert), ErrorKind::kInvalid);
  if (sim() != nullptr) {
    EXPECT_EQ(sim()->calls("POST /account/api/v1/client-auth-certificate"), 0);
  }
}

// ---- time ----------------------------------------------------------------------------------

TEST_F(ContractTest, UserExpiresAtTheEndOfItsEndDateUtcUnderAMovedClock) {
  SU_SIMULATOR_ONLY("moves the server's clock");
  auto am = client();
  ServiceUserSpec spec = target().spec("expiry");
  spec.end_date = daysFromToday(3);
  CreatedServiceUser created = create(*am, spec);
  auto offsetTo = [&](TimePoint when) {
    auto offset =
        std::chrono::duration_cast<std::chrono::seconds>(when - std::chrono::system_clock::now());
    sim()->control("POST", "/control/clock", {{"offset_seconds", offset.count()}});
  };

  offsetTo(endOfDay(*spec.end_date) - std::chrono::seconds(20));
  EXPECT_TRUE(tokenWorks(created.token)) << "still alive 20 s before 23:59:59 UTC";
  EXPECT_EQ(am->getServiceUser(created.user.id)->status, UserStatus::kActive);

  offsetTo(endOfDay(*spec.end_date) + std::chrono::seconds(20));
  EXPECT_FALSE(tokenWorks(created.token)) << "refused 20 s after 23:59:59 UTC";
  EXPECT_EQ(am->getServiceUser(created.user.id)->status, UserStatus::kExpired);
  EXPECT_EQ(failure(am->updateServiceUser(created.user.id, spec)), ErrorKind::kInvalid);
}

TEST_F(ContractTest, EndDateInThePastIsInvalid) {
  auto am = client();
  ServiceUserSpec spec = target().spec("past");
  spec.end_date = daysFromToday(-2);
  EXPECT_EQ(failure(am->createServiceUser(spec)), ErrorKind::kInvalid);
}

// ---- lost answers and server errors --------------------------------------------------------

TEST_F(ContractTest, LostCreateResponseIsResolvedByFriendlyNameWithoutDuplicate) {
  SU_SIMULATOR_ONLY("needs a create whose answer is lost");
  auto am = client();
  ServiceUserSpec spec = target().spec("lost");
  sim()->addFault({{"kind", "lose_create"}, {"count", 1}});

  auto result = am->createServiceUser(spec);
  EXPECT_EQ(failure(result), ErrorKind::kUnknownOutcome);
  auto found = am->findByFriendlyName(spec.friendly_name);
  ASSERT_TRUE(found.ok()) << found.error().describe();
  ASSERT_TRUE(found->has_value()) << "the committed user is found by its friendly name";
  created_.push_back((*found)->id);
  EXPECT_EQ(sim()->calls("POST /account/api/v1/user"), 1) << "the create was not resent";
  EXPECT_EQ(json::getInt(sim()->state(), "creates_committed"), 1);
  EXPECT_EQ(failure(am->createServiceUser(spec)), ErrorKind::kConflict);
}

TEST_F(ContractTest, DroppedConnectionOnCreateIsUnknownOutcomeAndNotResent) {
  SU_SIMULATOR_ONLY("needs a dropped connection");
  auto am = client();
  sim()->addFault({{"kind", "drop"}, {"method", "POST"}});

  EXPECT_EQ(failure(am->createServiceUser(target().spec("drop"))), ErrorKind::kUnknownOutcome);
  EXPECT_EQ(sim()->calls("POST /account/api/v1/user"), 1);
  EXPECT_EQ(json::getInt(sim()->state(), "creates_committed"), 0);
}

TEST_F(ContractTest, ServerErrorOnCreateIsNotResent) {
  SU_SIMULATOR_ONLY("needs an injected 500");
  auto am = client();
  sim()->addFault({{"kind", "error"}, {"status", 500}, {"method", "POST"}, {"count", 3}});

  EXPECT_EQ(failure(am->createServiceUser(target().spec("err"))), ErrorKind::kUnknownOutcome);
  EXPECT_EQ(sim()->calls("POST /account/api/v1/user"), 1);
}

TEST_F(ContractTest, ServerErrorsOnGetAreRetried) {
  SU_SIMULATOR_ONLY("needs injected 5xx answers");
  auto am = client();
  CreatedServiceUser created = create(*am, target().spec("retry"));
  sim()->addFault({{"kind", "error"}, {"status", 502}, {"method", "GET"}, {"count", 2}});

  auto got = am->getServiceUser(created.user.id);
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user/{id}"), 3);
}

TEST_F(ContractTest, ServerErrorsBeyondTheAttemptBoundFailTransient) {
  SU_SIMULATOR_ONLY("needs injected 5xx answers");
  ClientOptions options = target().options();
  options.max_attempts = 3;
  auto am = client(options);
  sim()->addFault({{"kind", "error"}, {"status", 500}, {"method", "GET"}, {"count", -1}});

  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  EXPECT_EQ(result.error().http_status, 500);
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user"), 3);
}

TEST_F(ContractTest, DroppedConnectionOnGetIsRetried) {
  SU_SIMULATOR_ONLY("needs a dropped connection");
  auto am = client();
  sim()->addFault({{"kind", "drop"}, {"method", "GET"}});

  auto list = am->listServiceUsers();
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user"), 2);
}

TEST_F(ContractTest, DisableAndDeleteAreRetriedAfterServerErrors) {
  SU_SIMULATOR_ONLY("needs injected 5xx answers");
  auto am = client();
  CreatedServiceUser created = create(*am, target().spec("safe"));
  sim()->addFault({{"kind", "error"}, {"status", 503}, {"method", "PUT"}});
  sim()->addFault({{"kind", "error"}, {"status", 500}, {"method", "DELETE"}});

  EXPECT_TRUE(am->disableServiceUser(created.user.id).ok());
  EXPECT_TRUE(am->deleteServiceUser(created.user.id).ok());
  EXPECT_EQ(sim()->calls("PUT /account/api/v1/user/{id}/disable"), 2);
  EXPECT_EQ(sim()->calls("DELETE /account/api/v1/user/{id}"), 2);
}

TEST_F(ContractTest, SlowAnswerWithinTheTimeoutSucceedsAndBeyondItFails) {
  SU_SIMULATOR_ONLY("needs injected latency");
  ClientOptions options = target().options();
  options.timeout = std::chrono::milliseconds(1500);
  options.max_attempts = 1;
  auto am = client(options);

  sim()->addFault({{"kind", "latency"}, {"latency_ms", 500}, {"method", "GET"}});
  auto start = Steady::now();
  EXPECT_TRUE(am->listServiceUsers().ok());
  EXPECT_GE(millisSince(start), 450);

  // NB: cpprestsdk resends a GET once on its own when a pooled connection times out, so the
  // latency stays on for every request.
  sim()->addFault({{"kind", "latency"}, {"latency_ms", 3000}, {"method", "GET"}, {"count", -1}});
  start = Steady::now();
  EXPECT_EQ(failure(am->listServiceUsers()), ErrorKind::kTransient);
  int64_t waited = millisSince(start);
  EXPECT_GE(waited, 1400);
  EXPECT_LT(waited, 4500) << "idle timeouts (one per send, at most two sends) ended the call";
}

// ---- rate limits ---------------------------------------------------------------------------

TEST_F(ContractTest, RetryAfterInSecondsIsWaitedFor) {
  SU_SIMULATOR_ONLY("needs an injected 429");
  auto am = client();
  sim()->addFault({{"kind", "throttle"}, {"retry_after_seconds", 2}, {"method", "GET"}});

  auto start = Steady::now();
  auto list = am->listServiceUsers();
  int64_t waited = millisSince(start);
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_GE(waited, 1900);
  EXPECT_LT(waited, 5000);
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user"), 2);
}

TEST_F(ContractTest, RetryAfterAsAnHttpDateIsWaitedFor) {
  SU_SIMULATOR_ONLY("needs an injected 503");
  auto am = client();
  sim()->addFault({{"kind", "throttle"},
                   {"status", 503},
                   {"retry_after_seconds", 3},
                   {"retry_after_as_date", true},
                   {"method", "GET"}});

  auto start = Steady::now();
  auto list = am->listServiceUsers();
  int64_t waited = millisSince(start);
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_GE(waited, 1000) << "an HTTP date has whole seconds: at least 2 s minus rounding";
  EXPECT_LT(waited, 6000);
}

TEST_F(ContractTest, ThrottledCreateIsNotResentAndPausesTheKeysBudgetForOtherClients) {
  SU_SIMULATOR_ONLY("needs an injected 429");
  auto creator = client();
  auto other = client();
  sim()->addFault({{"kind", "throttle"}, {"retry_after_seconds", 2}, {"method", "POST"}});

  auto result = creator->createServiceUser(target().spec("throttled"));
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_NEAR(static_cast<double>(result.error().retry_after->count()), 2000.0, 100.0);
  EXPECT_EQ(sim()->calls("POST /account/api/v1/user"), 1);

  auto start = Steady::now();
  EXPECT_TRUE(other->listServiceUsers().ok());
  EXPECT_GE(millisSince(start), 1700) << "the other client of the same key waited too";
}

TEST_F(ContractTest, RetryAfterLongerThanTheBoundFailsAtOnceWithTheWait) {
  SU_SIMULATOR_ONLY("needs an injected 429");
  ClientOptions options = target().options();
  options.max_retry_after_wait = std::chrono::seconds(1);
  auto am = client(options);
  sim()->addFault({{"kind", "throttle"}, {"retry_after_seconds", 30}, {"method", "GET"}});

  auto start = Steady::now();
  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  EXPECT_LT(millisSince(start), 1000);
  ASSERT_TRUE(result.error().retry_after.has_value());
  EXPECT_GE(result.error().retry_after->count(), 29000);
  // The pause ends with the last client of the key, at the end of this case.
}

TEST_F(ContractTest, RequestBudgetSpacesCallsOut) {
  SU_SIMULATOR_ONLY("counts requests");
  ClientOptions options = target().options();
  options.budget = {{2, std::chrono::seconds(1)}};
  options.user_agent = "budget-test";
  auto am = client(options);

  auto start = Steady::now();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(am->listServiceUsers().ok());
  EXPECT_GE(millisSince(start), 1500) << "6 calls at 2 per second after a burst of 2";
}

// ---- mutual TLS ----------------------------------------------------------------------------

TEST_F(ContractTest, MutualTlsWithACertificateFromTheServerWorksWithoutAKey) {
  SU_SIMULATOR_ONLY("needs a certificate from the simulator's CA");
  Json issued = sim()->control("POST", "/control/client-certificate", Json::object());
  ClientOptions options = target().options();
  options.base_url = sim()->clientAuthUrl();
  options.api_key = SecretString();
  options.client_cert_pem = json::getString(issued, "certificate_pem").value_or("");
  options.client_key_pem = SecretString(json::getString(issued, "key_pem").value_or(""));
  auto am = client(options);

  CreatedServiceUser created = create(*am, target().spec("mtls"));
  EXPECT_FALSE(created.user.id.empty());
  auto list = am->listServiceUsers();
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(ContractTest, MutualTlsWithAForeignCertificateFailsInTheHandshake) {
  SU_SIMULATOR_ONLY("needs the simulator's mutual-TLS listener");
  std::string dir = su::testing::makeTempDir("foreign-ca");
  auto foreign = sim::loadOrCreateTls(dir);
  ASSERT_TRUE(foreign.ok());
  auto key = pki::generateKey(pki::KeyType::kEcP256);
  auto csr = pki::makeCsrPem(key->get(), {});
  auto req = pki::parseCsr(*csr);
  auto now = std::chrono::system_clock::now();
  auto cert = sim::signClientCertificate(*foreign, req->get(), now, now + std::chrono::hours(1));
  ASSERT_TRUE(cert.ok());
  ClientOptions options = target().options();
  options.base_url = sim()->clientAuthUrl();
  options.api_key = SecretString();
  options.client_cert_pem = cert->pem;
  options.client_key_pem = *pki::privateKeyPem(key->get());
  options.max_attempts = 1;
  auto am = client(options);

  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  EXPECT_EQ(result.error().http_status, 0) << "no HTTP answer: the handshake failed";
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user"), 0);
  su::testing::removeTree(dir);
}

TEST_F(ContractTest, MutualTlsListenerRefusesAnApiKeyWithoutCertificate) {
  SU_SIMULATOR_ONLY("needs the simulator's mutual-TLS listener");
  ClientOptions options = target().options();
  options.base_url = sim()->clientAuthUrl();
  options.max_attempts = 1;
  auto am = client(options);

  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  EXPECT_EQ(result.error().http_status, 0);
}

TEST_F(ContractTest, ServerCertificateFromAnotherCaIsRefused) {
  SU_SIMULATOR_ONLY("needs a second CA");
  std::string dir = su::testing::makeTempDir("other-ca");
  auto other = sim::loadOrCreateTls(dir);
  ASSERT_TRUE(other.ok());
  ClientOptions options = target().options();
  options.ca_pem = other->ca_pem;
  options.max_attempts = 1;
  auto am = client(options);

  auto result = am->listServiceUsers();
  EXPECT_EQ(failure(result), ErrorKind::kTransient);
  EXPECT_EQ(sim()->calls("GET /account/api/v1/user"), 0);
  su::testing::removeTree(dir);
}

// ---- the token never leaks -----------------------------------------------------------------

TEST_F(ContractTest, NoIssuedTokenAppearsInLogsOrErrorMessages) {
  SU_SIMULATOR_ONLY("drives failures after a create");
  ClientOptions options = target().options();
  options.max_attempts = 2;
  auto am = client(options);
  ServiceUserSpec spec = target().spec("scan");
  CreatedServiceUser created = create(*am, spec);
  sim()->addFault({{"kind", "lose_create"}});
  std::vector<Error> errors;
  auto lost = am->createServiceUser(target().spec("scan2"));
  if (!lost) errors.push_back(lost.error());
  auto dup = am->createServiceUser(spec);
  if (!dup) errors.push_back(dup.error());
  ClientOptions as_user = options;
  as_user.api_key = created.token;
  auto user_client = client(as_user);
  auto forbidden = user_client->listServiceUsers();
  if (!forbidden) errors.push_back(forbidden.error());
  ASSERT_TRUE(am->disableServiceUser(created.user.id).ok());
  auto refused = user_client->listServiceUsers();
  if (!refused) errors.push_back(refused.error());

  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[2].kind, ErrorKind::kForbidden);
  EXPECT_EQ(errors[3].kind, ErrorKind::kUnauthorized);
  for (const Error& e : errors) {
    rememberError(e);
    EXPECT_EQ(e.describe().find(created.token.reveal()), std::string::npos) << e.describe();
  }
  std::string log = su::testing::readFile(testing::capturedLogPath());
  EXPECT_NE(log.find("digicert call"), std::string::npos) << "the log capture sees the client";
  EXPECT_EQ(log.find(created.token.reveal()), std::string::npos);
  EXPECT_TRUE(testing::findLeakedTokens().empty());
}

}  // namespace
}  // namespace su::digicert
