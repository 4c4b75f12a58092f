// Integration tests start emulators, the sandbox and whole local stacks: more than jest's default 5 s per test.
jest.setTimeout(60_000);
