using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Redis;

/// <summary>
/// Connects the silo's <see cref="RedisConnection"/> at the very start of the silo lifecycle, before clustering and
/// the grain directory ask for it, so an unusable Redis stops the silo with its own clear error; and checks that
/// the queue's keys can work on the Redis it found.
/// </summary>
public sealed class RedisConnectionLifecycle(RedisConnection redis, IOptions<QueueOptions> queue) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RedisConnectionLifecycle), ServiceLifecycleStage.First, StartAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await redis.ConnectAsync();
        var keys = new QueueKeys(queue.Value.Name);
        if (!keys.HasHashTag && multiplexer.GetServers().Any(s => s.ServerType == ServerType.Cluster))
        {
            // Each queue script touches several keys atomically, which Redis Cluster allows only within one slot.
            throw new OptionsValidationException(QueueOptions.Section, typeof(QueueOptions),
            [
                $"Redis at {redis.Endpoint} is a Redis Cluster: give {QueueOptions.Section}:{nameof(QueueOptions.Name)} a hash tag, e.g. '{{{keys.Name}}}', so every key of the queue lands in one slot.",
            ]);
        }
    }
}
