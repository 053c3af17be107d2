using OrleansLlm.Redis;
using StackExchange.Redis;

namespace OrleansLlm.Telemetry;

/// <summary>
/// What a set of observable gauges shows, read from Redis in one round trip and kept for <see cref="MaxAge"/>: a
/// scrape, however many of the gauges ask, costs Redis at most one round trip, and several scrapers no more than one a
/// second. The queue's, the webhook outbox's and the API's gauges read through it.
/// </summary>
/// <typeparam name="T">One reading of all the gauges' figures.</typeparam>
/// <param name="read">
/// Queues the reads on the batch it is given, before the batch is sent, and returns the task that makes the reading of
/// their answers.
/// </param>
/// <param name="failed">Told of a read that failed or timed out (once per <see cref="MaxAge"/>), to log it.</param>
public sealed class RedisGaugeReading<T>(RedisConnection redis, TimeProvider time, Func<IBatch, Task<T>> read, Action<Exception> failed)
    where T : class
{
    /// <summary>How long one reading of Redis serves the gauges.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    // A scrape must not hang on Redis: past this the gauges are left out of that scrape (and the failure logged).
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private (long At, T? Value)? _last;

    /// <returns>The reading, or null while Redis does not answer: the gauges are then left out of the scrape.</returns>
    public T? Read()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            // A failed read is kept as long as a good one, so a scrape while Redis is away waits for it once, not per gauge.
            if (_last is { } last && time.GetElapsedTime(last.At, now) < MaxAge)
            {
                return last.Value;
            }

            T? value = null;
            try
            {
                // Observable instruments are read synchronously; the lock makes concurrent scrapes share one read.
                var batch = redis.Database.CreateBatch();
                var reading = read(batch);
                batch.Execute();
                if (!reading.Wait(ReadTimeout))
                {
                    throw new TimeoutException($"Redis did not answer within {ReadTimeout.TotalSeconds:0} s");
                }

                value = reading.Result;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or AggregateException)
            {
                failed(ex);
            }

            _last = (now, value);
            return value;
        }
    }
}
