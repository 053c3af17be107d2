using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Worker;

/// <summary>The waits between polls of an empty queue: doubling to the most, each drawn from the upper half of its step.</summary>
[Trait("Category", "Unit")]
public sealed class IdleBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(1);

    [Fact]
    public void Waits_DoubleFromTheLeast_ToTheMost_EachInTheUpperHalfOfItsStep()
    {
        var backoff = new IdleBackoff(Min, Max, new Random(7));
        backoff.Reset();

        var steps = new[] { 50, 100, 200, 400, 800, 1000, 1000, 1000 };
        foreach (var step in steps)
        {
            Assert.InRange(backoff.Next().TotalMilliseconds, step / 2.0, step);
        }
    }

    [Fact]
    public void Reset_StartsOverFromTheLeast()
    {
        var backoff = new IdleBackoff(Min, Max, new Random(7));
        for (var i = 0; i < 10; i++)
        {
            backoff.Next();
        }

        backoff.Reset();

        Assert.InRange(backoff.Next().TotalMilliseconds, 25, 50);
    }

    [Fact]
    public void Waits_AreSpreadOverTheUpperHalf_NotAlike()
    {
        // Silos that start together must not poll in step: their waits at the most differ.
        var waits = Enumerable.Range(0, 4).Select(seed =>
        {
            var backoff = new IdleBackoff(Max, Max, new Random(seed));
            return backoff.Next();
        }).ToArray();

        Assert.Equal(4, waits.Distinct().Count());
        Assert.All(waits, w => Assert.InRange(w.TotalMilliseconds, 500, 1000));
    }
}
