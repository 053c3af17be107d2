using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// The queue gauges against a real redis-server of their own, whose command statistics count every read: however many
/// gauges ask and however often, Redis is read at most once per <see cref="QueueMetrics.MaxAge"/>.
/// </summary>
[Trait("Category", "Redis")]
public sealed class QueueMetricsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private RedisProcess _redis = null!;
    private ServiceProvider _services = null!;
    private RedisConnection _connection = null!;
    private QueueKeys _keys = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisProcess.StartAsync();
        _keys = new QueueKeys("metrics-q");
        _services = new ServiceCollection()
            .AddMetrics()
            .AddSingleton<TimeProvider>(_time)
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new RedisOptions { ConnectionString = _redis.ConnectionString }))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new QueueOptions { Name = _keys.Name }))
            .AddSingleton<RedisConnection>()
            .AddSingleton(QueueClock.Redis)
            .AddSingleton<QueueShards>()
            .AddSingleton<QueueMetrics>()
            .BuildServiceProvider();
        _connection = _services.GetRequiredService<RedisConnection>();
        await _connection.ConnectAsync();
    }

    [Fact]
    public async Task Gauges_ReadRedisOncePerSecond_HoweverManyAsk()
    {
        var metrics = _services.GetRequiredService<QueueMetrics>();
        var factory = _services.GetRequiredService<IMeterFactory>();
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            // Only this provider's meter: other tests' silos in this process publish the same instruments.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name.StartsWith("orleansllm_queue_", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();
        metrics.CreateGauges();

        var db = _redis.Db;
        await db.ListRightPushAsync(_keys.Ready, ["a", "b"]);
        await db.SortedSetAddAsync(_keys.ReadyClass(BatchPriority.High), "c", 0);
        await db.HashSetAsync(_keys.InFlight, "lease-1", "d");
        await db.HashSetAsync(_keys.Stats, "dead", 1);
        var before = await ReadCallsAsync();

        listener.RecordObservableInstruments();
        Assert.Equal(3, seen["orleansllm_queue_ready_items"]);
        Assert.Equal(1, seen["orleansllm_queue_inflight_items"]);
        Assert.Equal(1, seen["orleansllm_queue_dead_items"]);

        // Within the second: the same figures, no new read, even though Redis changed.
        await db.ListRightPushAsync(_keys.Ready, "f");
        listener.RecordObservableInstruments();
        listener.RecordObservableInstruments();
        Assert.Equal(3, seen["orleansllm_queue_ready_items"]);
        Assert.Equal(before + ReadsPerScrape, await ReadCallsAsync());

        _time.Advance(QueueMetrics.MaxAge);
        listener.RecordObservableInstruments();
        Assert.Equal(4, seen["orleansllm_queue_ready_items"]);
        Assert.Equal(before + (2 * ReadsPerScrape), await ReadCallsAsync());
    }

    [Fact]
    public async Task Gauges_AreLeftOutOfAScrape_WhileRedisIsDown()
    {
        var metrics = _services.GetRequiredService<QueueMetrics>();
        var factory = _services.GetRequiredService<IMeterFactory>();
        var measurements = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => measurements++);
        listener.Start();
        metrics.CreateGauges();
        listener.RecordObservableInstruments();
        Assert.Equal(3, measurements);

        await _redis.KillAsync();
        _time.Advance(QueueMetrics.MaxAge);
        listener.RecordObservableInstruments();

        // No stale figure passed off as current: the gauges are simply absent until Redis answers again.
        Assert.Equal(3, measurements);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _redis.DisposeAsync();
    }

    // A gauge reading is one LLEN of the ready list, a ZCARD per priority class, one HLEN, one LLEN of the dead letters.
    private static readonly int ReadsPerScrape = 3 + BatchPriorities.All.Count;

    // LLEN, ZCARD, HLEN and HGET calls Redis has served: the ready list, the class sets, in flight, and the dead letters' count.
    private async Task<long> ReadCallsAsync()
    {
        var server = _redis.Connection.GetServer(_redis.Connection.GetEndPoints()[0]);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
        return Calls(stats, "cmdstat_llen") + Calls(stats, "cmdstat_zcard") + Calls(stats, "cmdstat_hlen") + Calls(stats, "cmdstat_hget");

        static long Calls(Dictionary<string, string> stats, string command) =>
            stats.TryGetValue(command, out var value) ? long.Parse(value.Split(',')[0].Split('=')[1]) : 0;
    }
}
