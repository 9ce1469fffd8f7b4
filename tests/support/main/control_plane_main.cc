// Test main for suites that talk to the real API server: the control plane is started once for
// the binary (or joined through SU_TEST_KUBECONFIG). When it cannot start, every test fails.
#include <gtest/gtest.h>

#include "support/control_plane.h"

namespace {

class ControlPlaneEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(su::testing::ControlPlane::shared().start(&error))
        << "the real control plane is required and could not start: " << error;
  }
  void TearDown() override { su::testing::ControlPlane::shared().stop(); }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);
  return RUN_ALL_TESTS();
}
