namespace OrleansLlm.Redis;

/// <summary>
/// Connects the silo's <see cref="RedisConnection"/> at the very start of the silo lifecycle, before clustering and
/// the grain directory ask for it, so an unusable Redis stops the silo with its own clear error.
/// </summary>
public sealed class RedisConnectionLifecycle(RedisConnection redis) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RedisConnectionLifecycle), ServiceLifecycleStage.First, StartAsync);

    private Task StartAsync(CancellationToken cancellationToken) => redis.ConnectAsync();
}
