// The benchmark program (written in the next commit).
int main() {}
