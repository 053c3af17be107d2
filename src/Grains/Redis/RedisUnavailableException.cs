namespace OrleansLlm.Redis;

/// <summary>The silo could not start because Redis cannot be used; the message is one line naming the endpoint, never the password.</summary>
public sealed class RedisUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
