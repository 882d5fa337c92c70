// Suites start many services; their info logs would bury test output. LOG_LEVEL=info brings them back.
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'warn';
