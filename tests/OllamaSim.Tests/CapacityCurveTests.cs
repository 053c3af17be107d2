using Microsoft.Extensions.Time.Testing;

namespace OllamaSim.Tests;

/// <summary>The capacity curve with a cliff, alone and driving the scheduler on a fake clock.</summary>
public sealed class CapacityCurveTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Without_a_cliff_the_default_curve_is_the_workshops_cpu()
    {
        var curve = new SimulatorOptions().Curve;

        Assert.Null(curve.CliffAt);
        Assert.Equal(0.32, curve.ScalingExponent);
        Assert.Equal(1, curve.Aggregate(1));
        Assert.Equal(1.25, curve.Aggregate(2), precision: 2);
        Assert.Equal(1.56, curve.Aggregate(4), precision: 2);
        Assert.Equal(Math.Pow(100, 0.32), curve.Aggregate(100), precision: 9);
    }

    [Fact]
    public void Past_the_cliff_aggregate_falls_by_the_slope_down_to_the_floor()
    {
        var curve = new CapacityCurve { ScalingExponent = 0.9, CliffAt = 4, CliffSlope = 0.25, CliffFloor = 0.2 };
        var atCliff = Math.Pow(4, 0.9);

        Assert.Equal(Math.Pow(3, 0.9), curve.Aggregate(3), precision: 12);
        Assert.Equal(atCliff, curve.Aggregate(4), precision: 12);
        Assert.Equal(atCliff * 0.75, curve.Aggregate(5), precision: 12);
        Assert.Equal(atCliff * 0.5, curve.Aggregate(6), precision: 12);
        Assert.Equal(atCliff * 0.25, curve.Aggregate(7), precision: 12);
        Assert.Equal(atCliff * 0.2, curve.Aggregate(8), precision: 12); // 1 − 0.25 × 4 = 0 < floor
        Assert.Equal(atCliff * 0.2, curve.Aggregate(50), precision: 12);
    }

    [Fact]
    public void A_zero_slope_is_a_plateau()
    {
        var curve = new CapacityCurve { ScalingExponent = 1, CliffAt = 2 };

        Assert.Equal(2, curve.Aggregate(2));
        Assert.Equal(2, curve.Aggregate(3));
        Assert.Equal(2, curve.Aggregate(8));
    }

    [Theory]
    [InlineData(0, 0.1, 0.1, "cliff-at")]
    [InlineData(2, -0.1, 0.1, "cliff-slope")]
    [InlineData(2, 0.1, 0, "cliff-floor")]
    [InlineData(2, 0.1, 1.5, "cliff-floor")]
    public void Invalid_curves_are_refused_naming_the_setting(int cliffAt, double slope, double floor, string name)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new SimulatorOptions { CliffAt = cliffAt, CliffSlope = slope, CliffFloor = floor }.Validate());
        Assert.StartsWith(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_the_cliff_jobs_run_at_the_curves_rate()
    {
        // GPU-like: e = 1, so two jobs at the cliff each run at full solo speed.
        using var scheduler = new SlotScheduler(4, new CapacityCurve { ScalingExponent = 1, CliffAt = 2, CliffSlope = 0.25 }, timeProvider: _time);
        var items = await StartAsync(scheduler, count: 2, soloSeconds: 10);

        _time.Advance(TimeSpan.FromSeconds(10) - Ms);
        Assert.All(items, w => Assert.False(w.Completion.IsCompleted));
        _time.Advance(2 * Ms);
        Assert.All(items, w => Assert.True(w.Completion.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task Past_the_cliff_more_concurrency_finishes_later_in_total()
    {
        // Four jobs, two past the cliff: aggregate = 2 × (1 − 0.25 × 2) = 1, so each runs at 1/4 and all
        // four finish at 40 s, where without the cliff (e = 1) they would have finished at 10 s.
        using var scheduler = new SlotScheduler(4, new CapacityCurve { ScalingExponent = 1, CliffAt = 2, CliffSlope = 0.25 }, timeProvider: _time);
        var items = await StartAsync(scheduler, count: 4, soloSeconds: 10);

        _time.Advance(TimeSpan.FromSeconds(40) - Ms);
        Assert.All(items, w => Assert.False(w.Completion.IsCompleted));
        _time.Advance(2 * Ms);
        Assert.All(items, w => Assert.True(w.Completion.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task Far_past_the_cliff_the_floor_keeps_work_moving()
    {
        // Three jobs, cliff at 1 with slope 1: 1 − 1 × 2 < 0.1, so the aggregate is the floor, 0.1:
        // each runs at 0.1 / 3 and 10 solo seconds take 300 s.
        using var scheduler = new SlotScheduler(3, new CapacityCurve { ScalingExponent = 1, CliffAt = 1, CliffSlope = 1, CliffFloor = 0.1 }, timeProvider: _time);
        var items = await StartAsync(scheduler, count: 3, soloSeconds: 10);

        _time.Advance(TimeSpan.FromSeconds(300) - Ms);
        Assert.All(items, w => Assert.False(w.Completion.IsCompleted));
        _time.Advance(2 * Ms);
        Assert.All(items, w => Assert.True(w.Completion.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task Falling_back_under_the_cliff_speeds_the_rest_up()
    {
        // Three jobs with cliff at 2, slope 0.5, e = 1: aggregate(3) = 1, each at 1/3. The 2 s job finishes at 6 s,
        // when the 10 s jobs have 8 s left; two at the cliff run at full speed and finish 8 s later, at 14 s.
        using var scheduler = new SlotScheduler(3, new CapacityCurve { ScalingExponent = 1, CliffAt = 2, CliffSlope = 0.5 }, timeProvider: _time);
        var leases = new List<SlotLease>();
        for (var i = 0; i < 3; i++)
        {
            leases.Add(await scheduler.AcquireAsync(CancellationToken.None));
        }

        using var shortJob = leases[0].StartWork(2, CancellationToken.None);
        using var longA = leases[1].StartWork(10, CancellationToken.None);
        using var longB = leases[2].StartWork(10, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(6) - Ms);
        Assert.False(shortJob.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(shortJob.Completion.IsCompletedSuccessfully);

        _time.Advance(TimeSpan.FromSeconds(8) - 2 * Ms);
        Assert.False(longA.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(longA.Completion.IsCompletedSuccessfully && longB.Completion.IsCompletedSuccessfully);
        leases.ForEach(l => l.Dispose());
    }

    [Fact]
    public async Task The_cliff_is_reported_in_the_stats()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            TimeScale = 0, ScalingExponent = 0.95, CliffAt = 3, CliffSlope = 0.2, CliffFloor = 0.3,
        });

        var stats = server.GetStats();
        Assert.Equal((0.95, 3, 0.2, 0.3), (stats.ScalingExponent, stats.CliffAt, stats.CliffSlope, stats.CliffFloor));
        using var http = new HttpClient { BaseAddress = server.Url };
        var json = SimHttp.Parse(await http.GetStringAsync("/sim/stats"));
        Assert.Equal(3, json.GetProperty("cliffAt").GetInt32());
        Assert.Equal(0.2, json.GetProperty("cliffSlope").GetDouble());
    }

    private static async Task<List<WorkItem>> StartAsync(SlotScheduler scheduler, int count, double soloSeconds)
    {
        var items = new List<WorkItem>();
        for (var i = 0; i < count; i++)
        {
            var lease = await scheduler.AcquireAsync(CancellationToken.None);
            items.Add(lease.StartWork(soloSeconds, CancellationToken.None));
        }

        return items;
    }
}
