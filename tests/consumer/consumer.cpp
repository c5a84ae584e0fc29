// Uses libbrood from outside its tree: fork a callable and read its status.
#include <brood/brood.hpp>

#include <cstdio>

int main() {
    brood::child c = brood::fork([] { return 3; });
    const brood::wait_status status = c.wait();
    std::printf("consumer: child %s\n", status.to_string().c_str());
    return status.code() == 3 ? 0 : 1;
}
