using OrleansLlm.Batches;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace OrleansLlm.Tests.Queue;

/// <summary>How <c>Queue:Shards</c> names the partitions, their lease ids, and how a batch's parts add up.</summary>
[Trait("Category", "Unit")]
public sealed class QueueShardNamesTests
{
    [Theory]
    [InlineData("cities", 1, "cities")]
    [InlineData("{cities}", 1, "{cities}")]
    [InlineData("cities", 3, "{cities:0} {cities:1} {cities:2}")]
    [InlineData("{cities}", 3, "{cities:0} {cities:1} {cities:2}")]
    [InlineData("app:{q}:x", 2, "app:{q:0}:x app:{q:1}:x")]
    public void Partitions_AreHashTagged_OneShardIsTheQueueItself(string name, int shards, string expected)
    {
        var partitions = new QueueShards(MsOptions.Create(new QueueOptions { Name = name, Shards = shards, MaxAttempts = 7 }));

        Assert.Equal(expected, string.Join(' ', partitions.Keys.Select(k => k.Name)));
        Assert.All(partitions.Keys, k => Assert.True(shards == 1 || k.HasHashTag));
        // Each partition is the whole queue under its own name: every other option is the queue's.
        Assert.All(partitions.Partitions, p => Assert.Equal(7, p.MaxAttempts));
    }

    [Fact]
    public void LeaseIds_NameTheirPartition_ButNotWithOneShard()
    {
        var one = new QueueShards(MsOptions.Create(new QueueOptions()));
        var three = new QueueShards(MsOptions.Create(new QueueOptions { Shards = 3 }));
        var lease = new Lease("12-1733000000000b", "{}", 0);

        Assert.Same(lease, one.Held(0, lease));
        Assert.Equal("2:12-1733000000000b", three.Held(2, lease).Id);
        Assert.Equal((2, lease), three.Issued(three.Held(2, lease)));
        Assert.Contains("is not a lease id", Assert.Throws<ArgumentException>(() => three.ParseLeaseId("3:12-1b")).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Shards_OutOfRange_IsRefusedInOneLine(int shards)
    {
        var result = new QueueOptionsValidator().Validate(null, new QueueOptions { Shards = shards });

        Assert.Equal($"Queue:Shards must be 1 to 64 (was {shards}).", Assert.Single(result.Failures!));
    }

    [Fact]
    public void BatchParts_AddUp_CompletedOnlyWhenEveryPartEnded()
    {
        var at = DateTimeOffset.UnixEpoch;
        BatchCounts Part(long total, long done, DateTimeOffset? ended) =>
            new(Exists: true, Sealed: true, total, InFlight: total - done, done, DeadLettered: 0) { Ended = ended, Expires = ended?.AddDays(7) };

        var running = BatchParts.Add([Part(3, 3, at), Part(4, 3, null), Part(0, 0, at.AddSeconds(-5))]);
        Assert.Equal((7L, 6L, 1L, BatchStates.InProgress, (DateTimeOffset?)null), (running.Total, running.Done, running.InFlight, running.Status, running.Ended));

        var ended = BatchParts.Add([Part(3, 3, at), Part(4, 4, at.AddSeconds(9)), Part(0, 0, at.AddSeconds(-5))]);
        Assert.Equal((BatchStates.Completed, (DateTimeOffset?)at.AddSeconds(9), (DateTimeOffset?)at.AddSeconds(9).AddDays(7)), (ended.Status, ended.Ended, ended.Expires));

        // A part whose keys expired counts as nothing; a stopped part stops the batch.
        var stopped = BatchParts.Add([Part(3, 1, null) with { Stopped = BatchStates.Cancelled }, new BatchCounts(false, false, 0, 0, 0, 0)]);
        Assert.Equal((true, BatchStates.Cancelled, BatchStates.Cancelling), (stopped.Sealed, stopped.Stopped, stopped.Status));
    }
}
