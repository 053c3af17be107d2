using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Telemetry;

/// <summary>
/// The whole queue's depth as Redis holds it (<c>orleansllm_queue_*</c>). Every silo reports the same figures, so
/// aggregate them with <c>max</c>, never <c>sum</c>. With several partitions (<see cref="QueueShards"/>) each gauge is
/// their sum, under the queue's name.
/// </summary>
/// <remarks>The three gauges are read in one round trip, kept for <see cref="MaxAge"/> (<see cref="RedisGaugeReading{T}"/>).</remarks>
public sealed partial class QueueMetrics : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long one reading of Redis serves the gauges.</summary>
    public static readonly TimeSpan MaxAge = RedisGaugeReading<Depth>.MaxAge;

    private readonly QueueShards _shards;
    private readonly Meter _meter;
    private readonly RedisGaugeReading<Depth> _depth;

    public QueueMetrics(IMeterFactory meterFactory, RedisConnection redis, QueueShards shards, TimeProvider time, ILogger<QueueMetrics> logger)
    {
        _shards = shards;
        _meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
        _depth = new RedisGaugeReading<Depth>(redis, time,
            batch => SumAsync(shards.Keys.Select(k => ReadAsync(RedisQueueItems.ReadyCountAsync(batch, k), batch.HashLengthAsync(k.InFlight), batch.HashGetAsync(k.Stats, "dead"))).ToArray()),
            ex => LogReadFailed(logger, redis.Endpoint, ex.GetBaseException().Message));
    }

    // The gauges appear once the silo's Redis connection is up (the lifecycle's first stage connects it).
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(QueueMetrics), ServiceLifecycleStage.RuntimeInitialize, _ =>
        {
            CreateGauges();
            return Task.CompletedTask;
        });

    internal void CreateGauges()
    {
        _meter.CreateObservableGauge("orleansllm_queue_ready_items", () => Observe(d => d.Ready), "{item}",
            "Items waiting for a lease: the raw ready list and every priority class's ready set (LLEN of the queue plus ZCARD of QUEUE:ready:CLASS). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_queue_inflight_items", () => Observe(d => d.InFlight), "{item}",
            "Items leased and not yet settled, waiting retries included (HLEN of QUEUE:inflight). The same on every silo: aggregate with max.");
        _meter.CreateObservableGauge("orleansllm_queue_dead_items", () => Observe(d => d.Dead), "{item}",
            "Dead letters kept, of every batch and the raw items (QUEUE:stats dead). The same on every silo: aggregate with max.");
    }

    private IEnumerable<Measurement<long>> Observe(Func<Depth, long> read) =>
        _depth.Read() is { } depth ? [new Measurement<long>(read(depth), new KeyValuePair<string, object?>("queue", _shards.Name))] : [];

    private static async Task<Depth> ReadAsync(Task<long> ready, Task<long> inFlight, Task<RedisValue> dead) =>
        new(await ready, await inFlight, (long?)await dead ?? 0);

    private static async Task<Depth> SumAsync(IEnumerable<Task<Depth>> partitions)
    {
        var depths = await Task.WhenAll(partitions);
        return new(depths.Sum(d => d.Ready), depths.Sum(d => d.InFlight), depths.Sum(d => d.Dead));
    }

    private sealed record Depth(long Ready, long InFlight, long Dead);
}
