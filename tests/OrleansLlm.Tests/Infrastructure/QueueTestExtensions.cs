using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Shorthands for the queue tests: a silo that serves every model, settles without usage, item ids read from the payload.</summary>
public static class QueueTestExtensions
{
    public static async Task<IReadOnlyList<Lease>> TakeAsync(this RedisLeaseQueue queue, string owner, int max, params string[] served) =>
        (await queue.LeaseAsync(owner, max, served.Length == 0 ? null : served, CancellationToken.None)).Leases;

    public static Task<CompleteOutcome> CompleteAsync(this RedisLeaseQueue queue, Lease lease, string owner, string result = "{}") =>
        queue.CompleteAsync(lease, owner, ItemIdOf(lease), result, TokenUsage.Zero, CancellationToken.None);

    public static Task<FailOutcome> FailAsync(this RedisLeaseQueue queue, Lease lease, string owner, string error = "HTTP 500") =>
        queue.FailAsync(lease, owner, error, TimeSpan.Zero, CancellationToken.None);

    /// <summary>The item's id as the worker reads it: the envelope's, or a raw item's own.</summary>
    public static string ItemIdOf(Lease lease)
    {
        if (QueueItem.TryParse(lease.Payload, int.MaxValue, out var item) is { } malformed)
        {
            return lease.Payload;
        }

        using (item)
        {
            return item!.Id;
        }
    }

    public static string BatchOf(this Lease lease) => Envelope.BatchOf(lease.Payload);
}
