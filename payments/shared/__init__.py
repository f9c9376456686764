"""What every domain uses and none owns: settings, database, logs, metrics, auth, errors, money."""
