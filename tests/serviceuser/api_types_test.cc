#include "serviceuser/api_types.h"

#include <gtest/gtest.h>

#include "serviceuser/secret_shape.h"

namespace su::serviceuser {
namespace {

using json::Json;

Json manifest() {
  return Json::parse(R"({
    "metadata": {"namespace": "ci", "name": "signer", "uid": "u1", "generation": 2,
                 "resourceVersion": "7", "labels": {"argocd.argoproj.io/instance": "app"}},
    "spec": {"issuerRef": {"name": "digicert"}, "email": "a@example.com",
             "accounts": ["acct"], "access": [{"manager": "Software Trust", "roles": ["signer"]}],
             "secret": {"name": "tok", "labels": {"team": "ci"}}}})");
}

std::string errorFor(const std::function<void(Json&)>& edit) {
  Json m = manifest();
  edit(m);
  auto parsed = parseServiceUser(m);
  return parsed ? "" : parsed.error().message;
}

TEST(ApiTypes, DefaultsLiveInCodeNotInTheSchema) {
  auto su = parseServiceUser(manifest());
  ASSERT_TRUE(su.ok());
  EXPECT_EQ(su->spec.duration, kDefaultDuration);
  EXPECT_EQ(su->spec.renewBefore(), std::chrono::hours(720));
  EXPECT_EQ(su->spec.retire_grace, kDefaultGrace);
  EXPECT_EQ(su->spec.deletion_policy, DeletionPolicy::kDelete);
  EXPECT_EQ(su->spec.keys.token, "token");
  EXPECT_EQ(su->spec.issuer_ref.kind, "DigiCertIssuer");
}

TEST(ApiTypes, BadSpecsNameTheFieldAndTheFix) {
  EXPECT_NE(errorFor([](Json& m) { m["spec"].erase("email"); }).find("spec.email"),
            std::string::npos);
  EXPECT_NE(errorFor([](Json& m) { m["spec"]["accounts"] = Json::array(); }).find("spec.accounts"),
            std::string::npos);
  EXPECT_NE(errorFor([](Json& m) {
              m["spec"]["lifetime"] = {{"duration", "48h"}, {"renewBefore", "72h"}};
            }).find("spec.lifetime.renewBefore"),
            std::string::npos);
  EXPECT_NE(errorFor([](Json& m) {
              m["spec"]["lifetime"] = {{"duration", "soon"}};
            }).find("spec.lifetime.duration"),
            std::string::npos);
  EXPECT_NE(
      errorFor([](Json& m) { m["spec"]["deletionPolicy"] = "Shred"; }).find("spec.deletionPolicy"),
      std::string::npos);
  EXPECT_EQ(errorFor([](Json&) {}), "");
}

TEST(ApiTypes, WrongTypesAreReadWithoutThrowing) {
  Json m = manifest();
  m["metadata"]["creationTimestamp"] = nullptr;
  m["spec"]["description"] = 42;
  m["spec"]["suspend"] = "yes";
  m["status"] = {{"revision", "three"}, {"conditions", "none"}};
  auto su = parseServiceUser(m);
  ASSERT_TRUE(su.ok());
  EXPECT_EQ(su->spec.description, "");
  EXPECT_FALSE(su->spec.suspend);
  EXPECT_EQ(su->status.revision, 0);
}

TEST(ApiTypes, IdentityDigestIgnoresOrderButSeesContent) {
  Spec a, b;
  a.accounts = {"x", "y"};
  b.accounts = {"y", "x"};
  a.access = {{"A", {"r1", "r2"}}, {"B", {"r"}}};
  b.access = {{"B", {"r"}}, {"A", {"r2", "r1"}}};
  EXPECT_EQ(a.identityDigest(), b.identityDigest());
  b.email = "other@example.com";
  EXPECT_NE(a.identityDigest(), b.identityDigest());
}

TEST(SecretShape, NewSecretIsOwnedCarriesTheTemplateAndNoTrackingLabels) {
  auto su = parseServiceUser(manifest()).value();
  Delivery d{1, "id-1", "ci-signer-r1", "2026-08-30", SecretString("tok-value"), {}, {}};
  Json secret = newSecret(su, d);
  EXPECT_EQ(secret["metadata"]["labels"]["team"], "ci");
  EXPECT_FALSE(secret["metadata"]["labels"].contains("argocd.argoproj.io/instance"));
  EXPECT_EQ(secret["metadata"]["ownerReferences"][0]["uid"], "u1");
  EXPECT_EQ(secret["metadata"]["annotations"][kRevisionAnnotation], "1");
  SecretView view = viewSecret(su, &secret);
  EXPECT_TRUE(view.owned);
  EXPECT_TRUE(view.has_token);
  EXPECT_EQ(view.identity_id, "id-1");
  EXPECT_TRUE(view.metadata_current);
}

TEST(SecretShape, CachedCopiesHoldDigestsAndStillTellAnEmptyToken) {
  auto su = parseServiceUser(manifest()).value();
  Json secret = newSecret(su, {1, "id-1", "n", "", SecretString("tok-value"), {}, {}});
  digestSecretData(secret);
  EXPECT_EQ(json::dump(secret).find("tok-value"), std::string::npos);
  EXPECT_TRUE(viewSecret(su, &secret).has_token);

  Json emptied = newSecret(su, {1, "id-1", "n", "", SecretString(""), {}, {}});
  digestSecretData(emptied);
  EXPECT_FALSE(viewSecret(su, &emptied).has_token);
}

TEST(SecretShape, ReplacingTheTokenKeepsForeignKeysAndDropsTheOldCertificate) {
  auto su = parseServiceUser(manifest()).value();
  Json live = newSecret(su, {1, "id-1", "n-r1", "", SecretString("one"), {}, {}});
  live["data"]["extra"] = "eA==";
  live["data"]["tls.crt"] = "b2xk";
  Json next = replaceToken(su, live, {2, "id-2", "n-r2", "", SecretString("two"), {}, {}});
  EXPECT_EQ(next["data"]["extra"], "eA==");
  EXPECT_FALSE(next["data"].contains("tls.crt"));
  EXPECT_EQ(next["metadata"]["annotations"][kIdentityIdAnnotation], "id-2");
}

}  // namespace
}  // namespace su::serviceuser
