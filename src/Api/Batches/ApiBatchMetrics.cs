using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;
using StackExchange.Redis;

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
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly Meter _meter;
    private readonly RedisConnection _redis;
    private readonly ApiBatchStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<ApiBatchMetrics> _logger;
    private readonly Lock _gate = new();
    private Reading? _last;
    private bool _observed;

    public ApiBatchMetrics(IMeterFactory meterFactory, RedisConnection redis, ApiBatchStore store, TimeProvider time, ILogger<ApiBatchMetrics> logger)
    {
        _redis = redis;
        _store = store;
        _time = time;
        _logger = logger;
        _meter = meterFactory.Create(OrleansLlmTelemetry.MeterName);
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
        Read() is { } reading
            ? reading.Counts.Select(c => new Measurement<long>(c.Count,
                new KeyValuePair<string, object?>("queue", _store.Keys.Name), new KeyValuePair<string, object?>("status", c.Status)))
            : [];

    private Reading? Read()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_last is { } last && _time.GetElapsedTime(last.At, now) < MaxAge)
            {
                return last.Failed ? null : last;
            }

            try
            {
                // Observable instruments are read synchronously; the lock makes concurrent scrapes share one read.
                var batch = _redis.Database.CreateBatch();
                var counts = _store.CountByStatus(batch);
                batch.Execute();
                if (!Task.WhenAll(counts.Select(c => c.Count)).Wait(ReadTimeout))
                {
                    throw new TimeoutException($"Redis did not answer within {ReadTimeout.TotalSeconds:0} s");
                }

                _last = new Reading(now, counts.Select(c => (c.Status, c.Count.Result)).ToList());
                return _last;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or AggregateException)
            {
                LogReadFailed(_logger, _redis.Endpoint, ex.GetBaseException().Message);
                _last = new Reading(now, [], Failed: true);
                return null;
            }
        }
    }

    private sealed record Reading(long At, IReadOnlyList<(string Status, long Count)> Counts, bool Failed = false);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the API's batches by status from Redis at {Endpoint} failed; orleansllm_api_batches is left out of this scrape: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string endpoint, string error);
}
