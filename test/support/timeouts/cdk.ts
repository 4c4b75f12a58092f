// Synthesizing a stack (aws-cdk-lib load, cdk-nag) takes tens of seconds on 2 shared cores.
jest.setTimeout(120_000);
