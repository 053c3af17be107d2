using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// The API's batches by status (<c>orleansllm_api_batches</c>), as the status sets in Redis hold them
/// (<see cref="ApiRedisKeys.Status"/>). Every silo reports the same figures: aggregate them with <c>max</c>.
/// </summary>
/// <remarks>
/// <para>
/// A scrape costs Redis one round trip of a ZCOUNT per status, kept for a second, however many batches there are.
/// An ended batch is counted until its record expires (<see cref="ApiOptions.FileTtl"/>), as long as the API shows it.
/// </para>
/// <para>
/// No tenant label: tenants come and go with the keys' Secret, and each one would multiply the series by the
/// statuses on every silo; a tenant's batches are on the batches page and in <c>orleansllm status</c>. No key, nor
/// anything derived from one, is ever a label.
/// </para>
/// </remarks>
public sealed partial class ApiBatchMetrics
{
    private readonly Meter _meter;
    private readonly ApiBatchStore _store;
    private readonly RedisGaugeReading<IReadOnlyList<(string Status, long Count)>> _counts;
    private readonly Lock _gate = new();
    private bool _observed;

    public ApiBatchMetrics(IMeterFactory meterFactory, RedisConnection redis, ApiBatchStore store, TimeProvider time, ILogger<ApiBatchMetrics> logger)
    {
        _store = store;
        _meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
        _counts = new RedisGaugeReading<IReadOnlyList<(string Status, long Count)>>(redis, time,
            batch => ReadAsync(store.CountByStatus(batch)),
            ex => LogReadFailed(logger, redis.Endpoint, ex.GetBaseException().Message));
    }

    /// <summary>Creates the gauge; called once the API is served and the silo's Redis connection is up.</summary>
    public void Observe()
    {
        lock (_gate)
        {
            if (_observed)
            {
                return;
            }

            _observed = true;
        }

        _meter.CreateObservableGauge("orleansllm_api_batches", Measure, "{batch}",
            "The API's batches by status, as their records say (ZCOUNT of QUEUE:api:status:STATUS); an ended batch counts until its record expires (Api:FileTtl). The same on every silo: aggregate with max.");
    }

    private IEnumerable<Measurement<long>> Measure() =>
        _counts.Read() is { } counts
            ? counts.Select(c => new Measurement<long>(c.Count,
                new KeyValuePair<string, object?>("queue", _store.Keys.Name), new KeyValuePair<string, object?>("status", c.Status)))
            : [];

    private static async Task<IReadOnlyList<(string Status, long Count)>> ReadAsync(IReadOnlyList<(string Status, Task<long> Count)> counts)
    {
        var read = new List<(string Status, long Count)>(counts.Count);
        foreach (var (status, count) in counts)
        {
            read.Add((status, await count));
        }

        return read;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the API's batches by status from Redis at {Endpoint} failed; orleansllm_api_batches is left out of this scrape: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string endpoint, string error);
}
