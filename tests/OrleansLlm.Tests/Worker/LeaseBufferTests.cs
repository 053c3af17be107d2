using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>How many items a worker leases ahead: what frees in 10 ms or two lease round trips, at least 1, at most Worker:MaxLeaseAhead.</summary>
[Trait("Category", "Unit")]
public sealed class LeaseBufferTests
{
    [Fact]
    public void BeforeAnyMeasurement_KeepsOne()
    {
        Assert.Equal(1, new LeaseBuffer(maxLeaseAhead: 16).Target(limit: 32));
    }

    [Theory]
    // 32 slots at 170 ms free 188 a second: 1.9 of them in the 10 ms window, rounded up: 2.
    [InlineData(32, 5, 170, 16, 2)]
    // A backend answering in 10 ms: 32 × 10 ÷ 10 = 32, capped by Worker:MaxLeaseAhead.
    [InlineData(32, 5, 10, 16, 16)]
    // One slot answering in a millisecond: the 10 that free in the window, so one lease call brings several.
    [InlineData(1, 1, 1, 16, 10)]
    // Two round trips (40 ms) longer than the window: 8 slots at 100 ms free 3.2 in them, rounded up: 4.
    [InlineData(8, 20, 100, 16, 4)]
    // A slow CPU backend (2 s an item) still keeps one, so its next item starts the moment its slot frees.
    [InlineData(2, 5, 2000, 16, 1)]
    // Off.
    [InlineData(32, 5, 170, 0, 0)]
    public void Target_CoversTheSlotsThatFreeInTheWindowOrTwoRoundTrips(int limit, int roundTripMs, int serviceMs, int max, int expected)
    {
        var buffer = new LeaseBuffer(max);
        buffer.OnLeased(TimeSpan.FromMilliseconds(roundTripMs));
        buffer.OnServed(TimeSpan.FromMilliseconds(serviceMs));

        Assert.Equal(expected, buffer.Target(limit));
    }

    [Fact]
    public void Averages_FollowNewSamples_AnEighthAtATime()
    {
        var buffer = new LeaseBuffer(16);
        buffer.OnServed(TimeSpan.FromMilliseconds(100));
        buffer.OnServed(TimeSpan.FromMilliseconds(900));

        Assert.Equal(TimeSpan.FromMilliseconds(200), buffer.ServiceTime);
    }

    [Fact]
    public void Items_ComeOutInLeaseOrder_AndTakeAllEmptiesIt()
    {
        var buffer = new LeaseBuffer(16);
        buffer.Add([new Lease("1-1r", "a", 0), new Lease("2-1r", "b", 0), new Lease("3-1r", "c", 0)]);

        Assert.True(buffer.TryTake(out var first));
        Assert.Equal("1-1r", first.Id);
        Assert.Equal(["2-1r", "3-1r"], buffer.Ids);
        Assert.Equal(["2-1r", "3-1r"], buffer.TakeAll().Select(l => l.Id));
        Assert.Equal(0, buffer.Count);
        Assert.False(buffer.TryTake(out _));
    }

    [Fact]
    public void NegativeMaxLeaseAhead_IsRefusedInOneLine()
    {
        var result = new WorkerOptionsValidator().Validate(null, new WorkerOptions { MaxLeaseAhead = -1 });

        Assert.Equal(["Worker:MaxLeaseAhead must not be negative (0 turns lease ahead off; was -1)."], result.Failures);
    }
}
