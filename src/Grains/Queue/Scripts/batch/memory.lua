-- Memory: Redis' memory figures, read on the server that holds the queue (INFO is an admin command for clients,
-- but any script may read it).
-- Returns INFO's memory section, as text.
return redis.call('INFO', 'memory')
