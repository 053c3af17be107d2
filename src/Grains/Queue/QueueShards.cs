using System.Globalization;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;

namespace OrleansLlm.Queue;

/// <summary>
/// The partitions of one queue (<see cref="QueueOptions.Shards"/>): each is a whole queue, every key of
/// <see cref="QueueKeys"/> included, under its own hash-tagged name, so on a Redis Cluster each lands in a slot of its
/// own and every script still touches one slot. A batch is split over them; a worker leases from each in turn.
/// </summary>
/// <remarks>
/// Partition <c>p</c> of <c>cities</c> is <c>{cities:p}</c>; of a name with a hash tag, <c>{cities}</c>, the tag gains
/// the suffix: <c>{cities:p}</c>. With one shard the one partition is <see cref="QueueOptions.Name"/> itself, key for key.
/// </remarks>
public sealed class QueueShards
{
    // A partition's lease id is its number, this, and the partition's own token (which never holds one).
    private const char LeaseSeparator = ':';

    public QueueShards(IOptions<QueueOptions> options)
    {
        var o = options.Value;
        Name = o.Name;
        Partitions = [.. Enumerable.Range(0, o.Shards).Select(p => o.WithName(NameOf(o.Name, p, o.Shards)))];
        Keys = [.. Partitions.Select(p => new QueueKeys(p.Name))];
    }

    /// <summary>The queue's name (<see cref="QueueOptions.Name"/>); the webhook outbox and the API keep their keys under it.</summary>
    public string Name { get; }

    public int Count => Keys.Count;

    /// <summary>Each partition's keys, in partition order.</summary>
    public IReadOnlyList<QueueKeys> Keys { get; }

    /// <summary>Each partition's options: the queue's, under the partition's name.</summary>
    public IReadOnlyList<QueueOptions> Partitions { get; }

    /// <summary>The name of partition <paramref name="shard"/> of <paramref name="shards"/> of the queue <paramref name="name"/>.</summary>
    public static string NameOf(string name, int shard, int shards)
    {
        if (shards == 1)
        {
            return name;
        }

        var suffix = string.Create(CultureInfo.InvariantCulture, $"{LeaseSeparator}{shard}");
        return new QueueKeys(name).HasHashTag && name.IndexOf('}', name.IndexOf('{') + 1) is var close
            ? name.Insert(close, suffix)
            : $"{{{name}{suffix}}}";
    }

    /// <summary>The lease id a worker holds for the token <paramref name="token"/> of partition <paramref name="shard"/>: the token itself with one shard.</summary>
    public string LeaseId(int shard, string token) =>
        Count == 1 ? token : string.Create(CultureInfo.InvariantCulture, $"{shard}{LeaseSeparator}{token}");

    /// <summary>The partition and token of a lease id <see cref="LeaseId"/> gave.</summary>
    /// <exception cref="ArgumentException">It is not one.</exception>
    public (int Shard, string Token) ParseLeaseId(string leaseId)
    {
        if (Count == 1)
        {
            return (0, leaseId);
        }

        var at = leaseId.IndexOf(LeaseSeparator, StringComparison.Ordinal);
        return at > 0 && int.TryParse(leaseId.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out var shard) && shard < Count
            ? (shard, leaseId[(at + 1)..])
            : throw new ArgumentException($"'{leaseId}' is not a lease id of this queue's {Count} partitions.", nameof(leaseId));
    }

    /// <summary>A lease of partition <paramref name="shard"/> as the worker holds it: under its <see cref="LeaseId"/>.</summary>
    public Lease Held(int shard, Lease lease) => Count == 1 ? lease : lease with { Id = LeaseId(shard, lease.Id) };

    /// <summary>A lease the worker holds as its partition issued it: under its own token.</summary>
    public (int Shard, Lease Lease) Issued(Lease held)
    {
        var (shard, token) = ParseLeaseId(held.Id);
        return (shard, Count == 1 ? held : held with { Id = token });
    }
}
