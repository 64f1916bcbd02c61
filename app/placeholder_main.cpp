// Replaced by the CLI (app/main.cpp) in the config/CLI work.
int main() { return 0; }
