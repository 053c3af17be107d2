using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Queue;

/// <summary>
/// Stops the silo at start-up, with its own clear error, when the queue's keys cannot work on the Redis it connected
/// to: on a Redis Cluster the queue's name needs a hash tag. With several partitions (<see cref="QueueShards"/>) it
/// logs which master holds each, and warns when two share one: they then share that master's one core.
/// </summary>
/// <remarks>
/// Subscribed just after <see cref="RedisConnectionLifecycle"/> (<see cref="ServiceLifecycleStage.First"/>), which
/// has connected by then, and before clustering and the grain directory use Redis.
/// </remarks>
public sealed partial class QueueHashTagCheck(RedisConnection redis, IOptions<QueueOptions> queue, ILogger<QueueHashTagCheck> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(QueueHashTagCheck), ServiceLifecycleStage.First + 1, StartAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        var keys = new QueueKeys(queue.Value.Name);
        var cluster = redis.Multiplexer.GetServers().FirstOrDefault(s => s.ServerType == ServerType.Cluster);
        if (cluster is null)
        {
            return Task.CompletedTask;
        }

        if (!keys.HasHashTag)
        {
            // Each queue script touches several keys atomically, which Redis Cluster allows only within one slot.
            throw new OptionsValidationException(QueueOptions.Section, typeof(QueueOptions),
            [
                $"Redis at {redis.Endpoint} is a Redis Cluster: give {QueueOptions.Section}:{nameof(QueueOptions.Name)} a hash tag, e.g. '{{{keys.Name}}}', so every key of the queue lands in one slot.",
            ]);
        }

        if (queue.Value.Shards > 1 && cluster.ClusterConfiguration is { } configuration)
        {
            var placed = Enumerable.Range(0, queue.Value.Shards)
                .Select(p => QueueShards.NameOf(keys.Name, p, queue.Value.Shards))
                .Select(name => (Name: name, Slot: redis.Multiplexer.HashSlot(name)))
                .Select(p => (p.Name, p.Slot, Master: configuration.GetBySlot(p.Slot)?.EndPoint?.ToString() ?? "?"))
                .ToArray();
            var masters = placed.Select(p => p.Master).Distinct().Count();
            var where = string.Join(", ", placed.Select(p => $"{p.Name} slot {p.Slot} on {p.Master}"));
            if (masters < Math.Min(placed.Length, configuration.Nodes.Count(n => !n.IsReplica)))
            {
                LogSharedMasters(logger, placed.Length, masters, where);
            }
            else
            {
                LogPartitions(logger, placed.Length, masters, where);
            }
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue partitions: {Partitions} over {Masters} Redis masters: {Placement}")]
    private static partial void LogPartitions(ILogger logger, int partitions, int masters, string placement);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue partitions: {Partitions} over only {Masters} Redis masters, so some share a master's core: {Placement}. Move their slots (redis-cli --cluster reshard) or choose another Queue:Name")]
    private static partial void LogSharedMasters(ILogger logger, int partitions, int masters, string placement);
}
