#include <iostream>

int main() {
  long long x = 0;
  std::cin >> x;
  std::cout << x * 2 << std::endl;
}
