using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// Stops the silo at start-up, with its own clear error, when the queue's keys cannot work on the Redis it connected
/// to: on a Redis Cluster the queue's name needs a hash tag.
/// </summary>
/// <remarks>
/// Subscribed just after <see cref="RedisConnectionLifecycle"/> (<see cref="ServiceLifecycleStage.First"/>), which
/// has connected by then, and before clustering and the grain directory use Redis.
/// </remarks>
public sealed class QueueHashTagCheck(RedisConnection redis, IOptions<QueueOptions> queue) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(QueueHashTagCheck), ServiceLifecycleStage.First + 1, StartAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        var keys = new QueueKeys(queue.Value.Name);
        if (!keys.HasHashTag && redis.Multiplexer.GetServers().Any(s => s.ServerType == ServerType.Cluster))
        {
            // Each queue script touches several keys atomically, which Redis Cluster allows only within one slot.
            throw new OptionsValidationException(QueueOptions.Section, typeof(QueueOptions),
            [
                $"Redis at {redis.Endpoint} is a Redis Cluster: give {QueueOptions.Section}:{nameof(QueueOptions.Name)} a hash tag, e.g. '{{{keys.Name}}}', so every key of the queue lands in one slot.",
            ]);
        }

        return Task.CompletedTask;
    }
}
