"""Session fixtures that start real services (S3 server, PostgreSQL, Redis) for the tests."""
