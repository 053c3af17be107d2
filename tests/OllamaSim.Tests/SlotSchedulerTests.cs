using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace OllamaSim.Tests;

/// <summary>The capacity model against a fake clock: exact, and independent of machine load.</summary>
public sealed class SlotSchedulerTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private readonly FakeTimeProvider _time = new();

    private SlotScheduler Create(int parallel, double timeScale = 1, double speed = 1) =>
        new(parallel, new CapacityCurve(), timeScale, speed, _time);

    private static async Task<SlotLease> Acquire(SlotScheduler scheduler)
    {
        var task = scheduler.AcquireAsync(CancellationToken.None);
        Assert.True(task.IsCompleted, "a free slot is granted without waiting");
        return await task;
    }

    [Fact]
    public async Task Solo_work_takes_its_solo_seconds()
    {
        using var scheduler = Create(parallel: 1);
        using var lease = await Acquire(scheduler);

        using var work = lease.StartWork(12.5, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(12.5) - Ms);
        Assert.False(work.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(work.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Time_scale_and_speed_shorten_the_wall_time()
    {
        using var scheduler = Create(parallel: 1, timeScale: 0.01, speed: 2);
        using var lease = await Acquire(scheduler);

        using var work = lease.StartWork(12.5, CancellationToken.None); // 12.5 × 0.01 / 2 = 62.5 ms
        _time.Advance(TimeSpan.FromMilliseconds(61));
        Assert.False(work.Completion.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.True(work.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Time_scale_zero_is_instant_but_still_uses_the_slots()
    {
        using var scheduler = Create(parallel: 1, timeScale: 0);
        using var lease = await Acquire(scheduler);
        var queued = scheduler.AcquireAsync(CancellationToken.None);

        using var work = lease.StartWork(12.5, CancellationToken.None);
        Assert.True(work.Completion.IsCompletedSuccessfully);
        Assert.False(queued.IsCompleted);
        Assert.Equal(1, scheduler.GetStats().QueueDepth);

        lease.Dispose();
        using var second = await queued;
        Assert.Equal(0, scheduler.GetStats().QueueDepth);
    }

    [Theory]
    [InlineData(1, 1.00)]
    [InlineData(2, 1.25)]
    [InlineData(4, 1.56)]
    public async Task Aggregate_throughput_grows_as_k_to_the_exponent(int concurrent, double expectedRatio)
    {
        const double work = 10;
        using var scheduler = Create(parallel: 4);
        var leases = new List<SlotLease>();
        var items = new List<WorkItem>();
        for (var i = 0; i < concurrent; i++)
        {
            leases.Add(await Acquire(scheduler));
            items.Add(leases[i].StartWork(work, CancellationToken.None));
        }

        // Processor sharing: each of k jobs runs at k^(e-1), so all finish together at W·k^(1-e).
        var finish = work * Math.Pow(concurrent, 1 - 0.32);
        _time.Advance(TimeSpan.FromSeconds(finish) - 2 * Ms);
        Assert.All(items, w => Assert.False(w.Completion.IsCompleted));
        _time.Advance(4 * Ms);
        Assert.All(items, w => Assert.True(w.Completion.IsCompletedSuccessfully));

        var throughput = concurrent / finish;
        var soloThroughput = 1 / work;
        Assert.Equal(expectedRatio, throughput / soloThroughput, precision: 2);

        foreach (var item in items)
        {
            item.Dispose();
        }

        foreach (var lease in leases)
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task Rates_change_exactly_when_jobs_start_and_finish()
    {
        using var scheduler = Create(parallel: 2);
        using var a = await Acquire(scheduler);
        using var b = await Acquire(scheduler);

        using var workA = a.StartWork(10, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5)); // A alone: 5 of 10 done
        using var workB = b.StartWork(10, CancellationToken.None);

        // Both at 2^-0.68 ≈ 0.6242: A needs 5 / 0.6242 ≈ 8.0104 s more; by then B has done 5 too and
        // finishes its last 5 alone, 5 s later.
        var shared = Math.Pow(2, 0.32 - 1);
        var aFinish = 5 / shared;
        _time.Advance(TimeSpan.FromSeconds(aFinish) - Ms);
        Assert.False(workA.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(workA.Completion.IsCompletedSuccessfully);

        // One timer call can also cover several events: jump straight past B's finish.
        _time.Advance(TimeSpan.FromSeconds(5) - 2 * Ms);
        Assert.False(workB.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(workB.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Late_observation_still_applies_the_rate_change_at_the_finish()
    {
        using var scheduler = Create(parallel: 2);
        using var a = await Acquire(scheduler);
        using var b = await Acquire(scheduler);
        using var workA = a.StartWork(5, CancellationToken.None);
        using var workB = b.StartWork(10, CancellationToken.None);

        // A finishes at 5/0.6242 = 8.01 s, when B has 5 left; B alone then needs 5 s: 13.01 s in total.
        var shared = Math.Pow(2, 0.32 - 1);
        var bFinish = 5 / shared + 5;
        _time.Advance(TimeSpan.FromSeconds(bFinish) - Ms);
        Assert.True(workA.Completion.IsCompletedSuccessfully);
        Assert.False(workB.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(workB.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Milestones_report_progress_within_one_piece_of_work()
    {
        using var scheduler = Create(parallel: 1);
        using var lease = await Acquire(scheduler);
        using var work = lease.StartWork(10, CancellationToken.None);
        var quarter = work.WhenDoneAsync(2.5);
        var half = work.WhenDoneAsync(5);

        _time.Advance(TimeSpan.FromSeconds(2.5) + Ms);
        Assert.True(quarter.IsCompletedSuccessfully);
        Assert.False(half.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.True(half.IsCompletedSuccessfully);
        Assert.False(work.Completion.IsCompleted);
        Assert.True(work.WhenDoneAsync(1).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Speed_change_applies_to_the_remaining_work_only()
    {
        using var scheduler = Create(parallel: 1);
        using var lease = await Acquire(scheduler);
        using var work = lease.StartWork(10, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(4)); // 6 left
        scheduler.SetSpeed(1.0 / 3);             // now 3× slower: 18 s more
        _time.Advance(TimeSpan.FromSeconds(18) - Ms);
        Assert.False(work.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(work.Completion.IsCompletedSuccessfully);
        Assert.Equal(1.0 / 3, scheduler.GetStats().Speed, precision: 9);
    }

    [Fact]
    public async Task Requests_beyond_the_slots_queue_in_fifo_order()
    {
        using var scheduler = Create(parallel: 2);
        var first = await Acquire(scheduler);
        var second = await Acquire(scheduler);
        var waiting = Enumerable.Range(0, 4).Select(_ => scheduler.AcquireAsync(CancellationToken.None)).ToList();

        var stats = scheduler.GetStats();
        Assert.Equal(2, stats.BusySlots);
        Assert.Equal(4, stats.QueueDepth);
        Assert.All(waiting, t => Assert.False(t.IsCompleted));

        first.Dispose();
        Assert.True(waiting[0].IsCompleted);
        Assert.All(waiting.Skip(1), t => Assert.False(t.IsCompleted));
        second.Dispose();
        Assert.True(waiting[1].IsCompleted);
        Assert.False(waiting[2].IsCompleted);

        (await waiting[1]).Dispose();
        Assert.True(waiting[2].IsCompleted);
        Assert.False(waiting[3].IsCompleted);
        Assert.Equal(1, scheduler.GetStats().QueueDepth);
        Assert.Equal(2, scheduler.GetStats().BusySlots);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_is_skipped()
    {
        using var scheduler = Create(parallel: 1);
        var holder = await Acquire(scheduler);
        using var cts = new CancellationTokenSource();
        var cancelled = scheduler.AcquireAsync(cts.Token);
        var next = scheduler.AcquireAsync(CancellationToken.None);
        Assert.Equal(2, scheduler.GetStats().QueueDepth);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, scheduler.GetStats().QueueDepth);

        holder.Dispose();
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(0, scheduler.GetStats().QueueDepth);
    }

    [Fact]
    public async Task Cancelled_work_stops_and_the_others_speed_up()
    {
        using var scheduler = Create(parallel: 2);
        using var a = await Acquire(scheduler);
        using var b = await Acquire(scheduler);
        using var cts = new CancellationTokenSource();
        var workA = a.StartWork(10, cts.Token);
        using var workB = b.StartWork(10, CancellationToken.None);

        var shared = Math.Pow(2, 0.32 - 1);
        _time.Advance(TimeSpan.FromSeconds(4)); // B has done 4 × 0.6242
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => workA.Completion);
        workA.Dispose();

        var bLeft = 10 - 4 * shared; // alone from now on
        _time.Advance(TimeSpan.FromSeconds(bLeft) - Ms);
        Assert.False(workB.Completion.IsCompleted);
        _time.Advance(2 * Ms);
        Assert.True(workB.Completion.IsCompletedSuccessfully);
        Assert.Equal(0, scheduler.GetStats().ComputingSlots);
    }

    [Fact]
    public async Task Busy_slot_seconds_integrate_busy_slots_over_time()
    {
        using var scheduler = Create(parallel: 2);
        var a = await Acquire(scheduler);
        var b = await Acquire(scheduler);
        _time.Advance(TimeSpan.FromSeconds(3));
        a.Dispose();
        _time.Advance(TimeSpan.FromSeconds(2));

        var stats = scheduler.GetStats();
        Assert.Equal(2 * 3 + 1 * 2, stats.BusySlotSeconds, precision: 9);
        Assert.Equal(5, stats.ElapsedSeconds, precision: 9);

        b.Dispose();
        scheduler.ResetStats();
        _time.Advance(TimeSpan.FromSeconds(1));
        stats = scheduler.GetStats();
        Assert.Equal(0, stats.BusySlotSeconds);
        Assert.Equal(1, stats.ElapsedSeconds, precision: 9);
        Assert.Equal(0, stats.QueueWaitSeconds.Count);
    }

    [Fact]
    public async Task Queue_waits_are_recorded_with_percentiles()
    {
        using var scheduler = Create(parallel: 1);
        var holder = await Acquire(scheduler);
        var waiter = scheduler.AcquireAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2));
        holder.Dispose();
        (await waiter).Dispose();

        var waits = scheduler.GetStats().QueueWaitSeconds;
        Assert.Equal(2, waits.Count);
        Assert.Equal(2, waits.Sum, precision: 9);
        Assert.Equal(0, waits.P50);
        Assert.Equal(2, waits.P99, precision: 9);
    }

    [Fact]
    public async Task Hundreds_of_queued_requests_are_served_in_order()
    {
        const int count = 400;
        using var scheduler = Create(parallel: 4, timeScale: 0.001);
        var waited = new TimeSpan[count];
        async Task Request(int id)
        {
            using var lease = await scheduler.AcquireAsync(CancellationToken.None);
            waited[id] = lease.QueueWait;
            await lease.ProcessAsync(1, CancellationToken.None);
        }

        // Started one by one, all at the same fake instant, so arrival order is the id order.
        var requests = Enumerable.Range(0, count).Select(Request).ToList();
        Assert.Equal(count - 4, scheduler.GetStats().QueueDepth);

        // Drive the fake clock in small steps until every request is served: a tight loop of its own, since the
        // steps must be small and frequent for the FIFO order to show, and bounded by a real deadline.
        var all = Task.WhenAll(requests);
        var deadline = Stopwatch.StartNew();
        while (!all.IsCompleted)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"all {count} requests to finish as fake time advances: {scheduler.GetStats().QueueDepth} still queued");
            _time.Advance(TimeSpan.FromMilliseconds(5));
            await Task.Delay(1);
        }

        await all;

        // FIFO: everyone arrived at the same instant, so a later arrival never waited less.
        for (var i = 1; i < count; i++)
        {
            Assert.True(waited[i] >= waited[i - 1], $"request {i} waited {waited[i]} < request {i - 1}'s {waited[i - 1]}");
        }

        Assert.True(waited[^1] > waited[4], "the queue drained over time");

        var stats = scheduler.GetStats();
        Assert.Equal(0, stats.QueueDepth);
        Assert.Equal(0, stats.BusySlots);
        Assert.Equal(count, stats.QueueWaitSeconds.Count);
    }
}
