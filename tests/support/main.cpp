// main() of every test executable: GoogleTest plus the leak check around every test.
#include <gtest/gtest.h>

#include "support/leak_check.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::UnitTest::GetInstance()->listeners().Append(new brood::testing::leak_check);
    return RUN_ALL_TESTS();
}
