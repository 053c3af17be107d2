using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using OrleansLlm.Options;
using OrleansLlm.Placement;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// The one worker of a silo: leases items from Redis and keeps up to <see cref="IConcurrencyController.Limit"/>
/// requests in flight to the silo's own Ollama. One item's path: <see cref="PumpAsync"/> leases it,
/// <see cref="RunAsync"/> has <see cref="ItemProcessor"/> call Ollama, <see cref="CallSlots"/> tells the
/// concurrency controller and the breaker what came of the call, and <see cref="WorkerQueue.RecordAsync"/> records
/// the outcome in Redis.
/// </summary>
/// <remarks>
/// Reentrant so that the pump, the per-item calls and the timers interleave on the grain's single thread:
/// no locks, and every await returns to the grain scheduler.
/// </remarks>
[Reentrant]
[SiloLocalPlacement]
[GrainDirectory(GrainDirectoryName = DirectoryName)]
public sealed partial class WorkerGrain(
    WorkerQueue queue,
    ItemProcessor processor,
    CallSlots slots,
    WorkerStatistics statistics,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    /// <summary>
    /// Workers register in a Redis-backed grain directory, not the default one spread over the silos: there, the death
    /// of any silo deactivates the activations whose entries it held, which would interrupt healthy workers elsewhere.
    /// </summary>
    public const string DirectoryName = "orleansllm-workers";

    private readonly WorkerOptions _options = options.Value;
    // Every started item until Redis has its outcome (what is renewed, and what a drain waits for).
    private readonly Dictionary<string, Task> _items = new(StringComparer.Ordinal);
    // Leases whose item a drain cut short (an Ollama call, or a breaker probe deciding whose fault a failure was): the
    // drain hands them back.
    private readonly List<string> _aborted = [];
    // Replaced when an operator undrains the worker (UndrainAsync): a drain cancels both for good.
    private CancellationTokenSource _stopLeasing = new();
    private CancellationTokenSource _abortCalls = new();
    private IGrainTimer? _renewTimer;
    private IGrainTimer? _heartbeatTimer;
    // Leased ahead of the free slots, not started yet; renewed, counted and handed back like the items started.
    private readonly LeaseBuffer _buffer = new(options.Value.MaxLeaseAhead);
    private Task _pump = Task.CompletedTask;
    private Task? _drain;
    private readonly IdleBackoff _idle = new(options.Value.PollMinDelay, options.Value.PollMaxDelay, Random.Shared);
    // Set by WakeAsync; ends an idle wait early, or the next one if none is under way.
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // The last lease found the queue empty: work found next is news for the other idle workers.
    private bool _queueWasEmpty;
    // Redis may hold leases under this worker's name that it does not know of: set when its pump starts and when a
    // queue call failed (a lease call that ran but whose reply was lost, a record or hand-back given up). The pump
    // hands them back before its next lease, rather than leave them to expire.
    private bool _mayHoldUnknownLeases;
    private string? _owner;

    // The key is decoded into a new string on every read, and every item's path reads it.
    private string Owner => _owner ??= this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var silo = GrainContext.Address.SiloAddress!;
        if (Owner != silo.ToParsableString())
        {
            throw new InvalidOperationException($"Worker {Owner} was activated on silo {silo}; its placement must keep it on its own silo.");
        }

        // KeepAlive: the worker lives as long as its silo, busy or idle.
        _renewTimer = this.RegisterGrainTimer(RenewLeasesAsync, new GrainTimerCreationOptions(queue.RenewEvery, queue.RenewEvery)
        {
            Interleave = true,
            KeepAlive = true,
        });
        _heartbeatTimer = this.RegisterGrainTimer(ReportAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.HeartbeatInterval)
        {
            Interleave = true,
            KeepAlive = true,
        });
        statistics.Enter(WorkerState.Active);
        _pump = PumpAsync(_stopLeasing.Token);
        LogStarted(logger, Owner, processor.OllamaUrl, processor.Model, slots.Limit);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_pump.IsCompleted && _drain is null)
        {
            // The pump only ends when draining; anything else is a bug, and a stopped pump would idle the silo.
            LogPumpStopped(logger, _pump.Exception, Owner);
            _pump = PumpAsync(_stopLeasing.Token);
        }

        return Task.CompletedTask;
    }

    /// <remarks>The drain runs on after the call returns, so <paramref name="cancellationToken"/> only covers the call.</remarks>
    public Task DrainAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        _drain ??= RunDrainAsync(timeout ?? _options.DrainTimeout, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task<WorkerStatus> GetStatusAsync(CancellationToken cancellationToken) => Task.FromResult(Status());

    /// <summary>
    /// Undoes an operator's drain (<c>orleansllm undrain</c>): fresh cancellation sources, since the drain cancelled
    /// the old ones, and a new pump. Only a finished drain is undone, so no item is both handed back and still run;
    /// a silo that is shutting down drains for good.
    /// </summary>
    public async Task<bool> UndrainAsync(CancellationToken cancellationToken)
    {
        if (statistics.State == WorkerState.Active)
        {
            return false;
        }

        if (statistics.SiloStopping)
        {
            throw new InvalidOperationException($"Silo {Owner} is shutting down; its worker can't take work again.");
        }

        if (statistics.State == WorkerState.Draining)
        {
            throw new InvalidOperationException($"Worker {Owner} is still draining ({slots.InFlight} in flight); undrain it once it is drained.");
        }

        _stopLeasing.Dispose();
        _abortCalls.Dispose();
        _stopLeasing = new CancellationTokenSource();
        _abortCalls = new CancellationTokenSource();
        _drain = null;
        statistics.Enter(WorkerState.Active);
        _pump = PumpAsync(_stopLeasing.Token);
        LogUndrained(logger, Owner);
        await ReportAsync(cancellationToken);
        return true;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Normally the silo lifecycle drained us already; if not (e.g. forced deactivation), hand everything back now.
        if (_drain is null)
        {
            // Let in-flight calls finish while Orleans allows; the silo lifecycle re-activates the worker right after.
            LogUnexpectedDeactivation(logger, Owner, reason.ToString());
            _drain = RunDrainAsync(_options.DrainTimeout, cancellationToken);
        }

        await _drain;
        _renewTimer?.Dispose();
        _heartbeatTimer?.Dispose();
        _stopLeasing.Dispose();
        _abortCalls.Dispose();
    }

    /// <summary>
    /// Keeps the free slots and the lease-ahead buffer filled, one lease call at a time: each asks for the free slots
    /// and what the buffer lacks of its target (<see cref="LeaseBuffer.Target"/>). Items start from the buffer, in
    /// lease order, here and the moment a slot frees (<see cref="RunAsync"/>), so no slot waits for Redis.
    /// </summary>
    private async Task PumpAsync(CancellationToken stop)
    {
        _idle.Reset();
        // A starting pump knows of no lease, but a lease in this silo's name may be left over: from an earlier
        // activation on this silo (an unexpected deactivation), or from a drain whose hand-back failed.
        _mayHoldUnknownLeases = true;
        while (!stop.IsCancellationRequested)
        {
            StartBuffered();
            if (slots.BackendBroken)
            {
                // Ollama is broken: what waits in the buffer goes back at once, for the healthy silos.
                await ReleaseBufferedAsync();
                await slots.WaitForFreeAsync(_options.PollMaxDelay, stop);
                continue;
            }

            var target = _buffer.Target(slots.Limit);
            var wanted = slots.Available + target - _buffer.Count;
            // The buffer is topped up once it is down to half, not after every item it gives: one lease call then
            // brings several items, which is what a lease costs Redis. (A free slot means the buffer is empty.)
            if (wanted <= 0 || (slots.Available == 0 && _buffer.Count > target / 2))
            {
                // Every slot is busy and the buffer full enough: wait for a slot to free (it takes from the buffer).
                await slots.WaitForFreeAsync(_options.PollMaxDelay, stop);
                continue;
            }

            _buffer.Add(await LeaseAsync(wanted, stop));
        }
    }

    /// <summary>Starts buffered items, oldest lease first, on the slots that are free; none once leasing stopped.</summary>
    private void StartBuffered()
    {
        while (!_stopLeasing.IsCancellationRequested && slots.Available > 0 && _buffer.TryTake(out var lease))
        {
            var call = slots.Take(lease.Id);
            // A turn of its own on the grain's scheduler, without this context's flow: called as an item's answer
            // arrives, the next item would otherwise start inside that item's log scope and span.
            Task<Task> started;
            using (ExecutionContext.SuppressFlow())
            {
                started = Task.Factory.StartNew(() => RunAsync(lease, call), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Current);
            }

            // Tracked before it runs, so its own end (which removes it) comes after.
            _items[lease.Id] = started.Unwrap();
        }
    }

    /// <summary>
    /// Hands back the leases Redis holds under this worker's name that it does not know of
    /// (<see cref="WorkerQueue.ReleaseUnknownAsync"/>); false while Redis is away. Only the pump leases, and it calls
    /// this, so no lease call is under way whose leases would look unknown.
    /// </summary>
    private async Task<bool> ReleaseUnknownLeasesAsync(CancellationToken stop)
    {
        // Cleared before the look, not after: an item whose Redis call fails meanwhile leaves the flag set again, and
        // its lease (in the set below, so kept this time) is looked for once more before the next lease call.
        _mayHoldUnknownLeases = false;
        try
        {
            var held = _items.Keys.Concat(_buffer.Ids).ToHashSet(StringComparer.Ordinal);
            var released = await queue.ReleaseUnknownAsync(Owner, held, stop);
            if (released > 0)
            {
                LogReleasedUnknown(logger, released, Owner);
            }

            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _mayHoldUnknownLeases = true;
            return false;
        }
        catch (Exception ex)
        {
            _mayHoldUnknownLeases = true;
            LogReleaseUnknownFailed(logger, ex);
            return false;
        }
    }

    /// <summary>Hands every buffered item back, in lease order, no attempt spent: none of them was started.</summary>
    private async Task ReleaseBufferedAsync()
    {
        var buffered = _buffer.TakeAll();
        if (buffered.Length == 0)
        {
            return;
        }

        try
        {
            var released = await queue.ReleaseAsync(Owner, buffered.Select(l => l.Id).ToArray(), CancellationToken.None);
            LogReleasedBuffered(logger, released, Owner);
        }
        catch (Exception ex)
        {
            // Redis is away: the pump hands them back once it answers (or they expire), so nothing is lost.
            _mayHoldUnknownLeases = true;
            LogReleaseBufferedFailed(logger, ex, buffered.Length);
        }
    }

    /// <summary>Up to <paramref name="max"/> leases; none, after a wait that grows while the queue stays empty, when it has none.</summary>
    private async Task<IReadOnlyList<Lease>> LeaseAsync(int max, CancellationToken stop)
    {
        if (_mayHoldUnknownLeases && !await ReleaseUnknownLeasesAsync(stop))
        {
            await DelayAsync(_options.PollMaxDelay, stop);
            return [];
        }

        LeaseResult leased;
        try
        {
            var started = time.GetTimestamp();
            leased = await queue.LeaseAsync(Owner, max, stop);
            _buffer.OnLeased(time.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return [];
        }
        catch (Exception ex)
        {
            // Redis may have run the call and lost only its reply.
            _mayHoldUnknownLeases = true;
            LogLeaseFailed(logger, ex);
            await DelayAsync(_options.PollMaxDelay, stop);
            return [];
        }

        if (leased.Leases.Count > 0)
        {
            _idle.Reset();
            if (_queueWasEmpty)
            {
                _queueWasEmpty = false;
                await TellWorkFoundAsync();
            }
        }
        else if (!leased.More)
        {
            // (With More, the call spent its steps parking or removing items on the way: more may be ready behind them.)
            _queueWasEmpty = true;
            await IdleAsync(_idle.Next(), stop);
        }

        return leased.Leases;
    }

    /// <summary>One item: call Ollama, free the slot, judge the call, record the outcome.</summary>
    private async Task RunAsync(Lease lease, OllamaCall call)
    {
        // Every line logged about the item carries its ids; its spans join the trace its envelope names.
        var item = queue.ScopeOf(lease, Owner);
        using var logScope = logger.BeginScope(item);
        using var span = OrleansLlmActivities.StartLease(item);
        ItemOutcome? judged = null;
        try
        {
            var outcome = await processor.ProcessAsync(lease, Owner, _abortCalls.Token);
            // Ollama is done with it: free the slot now, so its next request does not wait for Redis to record this one.
            slots.Free(call);
            if (outcome.Served is not null)
            {
                // Served: the backend is fine, so the slot takes its next item from the buffer at once. (After a
                // failed call it waits for the judgement below, which may open the breaker.)
                _buffer.OnServed(time.GetUtcNow() - call.SentAt);
                StartBuffered();
            }

            judged = await slots.JudgeAsync(call, outcome, _abortCalls.Token);
            if (judged.Failure is { } failure)
            {
                span.SetFailure(failure.Reason, failure.Error);
            }

            await queue.RecordAsync(lease, Owner, judged, CancellationToken.None);
        }
        catch (OperationCanceledException) when (_abortCalls.IsCancellationRequested && judged is null)
        {
            // The drain ran out of time; it hands this lease back itself.
            _aborted.Add(lease.Id);
            slots.Abandon(call);
            span.SetFailure(OrleansLlmActivities.AbortedReason, "the drain ran out of time; the item is handed back");
        }
        catch (Exception ex)
        {
            // Redis was away: before Ollama (the batch's spec, a raw item's repeated-id check) or while recording, past
            // the retries. The lease stays, and the pump hands it back once Redis answers (or it expires): retried, not lost.
            _mayHoldUnknownLeases = true;
            if (judged is null)
            {
                slots.Abandon(call);
            }

            LogRecordFailed(logger, ex, lease.Id);
            span.SetFailure(FailureReasons.Error, $"Redis failed: {ex.Message}");
        }
        finally
        {
            slots.Free(call);
            _items.Remove(lease.Id);
            StartBuffered();
        }
    }

    private async Task RunDrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        statistics.Enter(WorkerState.Draining);
        LogDraining(logger, Owner, slots.InFlight, timeout);
        _stopLeasing.Cancel();
        await ReportAsync(CancellationToken.None);
        await _pump;
        // What is buffered first: none of it has started, so it goes straight back, before the wait for calls in flight.
        await ReleaseBufferedAsync();

        var pending = Task.WhenAll(_items.Values);
        // In lease order, so what goes back keeps its place.
        var leased = _items.Keys.ToArray();
        await Task.WhenAny(pending, Task.Delay(timeout, time, cancellationToken));
        if (!pending.IsCompleted)
        {
            // Time is up: Ollama calls, and breaker probes deciding whose fault a failure was, are cut short. An item whose
            // outcome is being recorded finishes on its own.
            _abortCalls.Cancel();
        }

        await pending;
        if (_aborted.Count > 0)
        {
            var released = await queue.ReleaseAsync(Owner, leased.Where(_aborted.Contains).ToArray(), CancellationToken.None);
            _aborted.Clear();
            LogReleased(logger, released, Owner);
        }

        statistics.Enter(WorkerState.Drained);
        LogDrained(logger, Owner, Status().Completed);
        await ReportAsync(CancellationToken.None);
    }

    public Task WakeAsync()
    {
        // One poll now; its backoff stays where it was, so a trickle of single items costs each idle worker one more
        // lease a second at most (the coordinator's pace), not a restarted backoff.
        _wake.TrySetResult();
        return Task.CompletedTask;
    }

    private WorkerStatus Status() => statistics.Status(Owner, slots.InFlight, slots.Limit, processor.OllamaUrl, _buffer.Count);

    // The heartbeat also re-creates the coordinator after its silo died, since calling it activates it again.
    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        var status = Status();
        // Buffered items are held too: leased, in Q:inflight, and handed back if the pod goes.
        statistics.Publish(status, itemsHeld: _items.Count + _buffer.Count);
        try
        {
            await GrainFactory.GetCoordinator().ReportAsync(status, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReportFailed(logger, ex.Message);
        }
    }

    private async Task RenewLeasesAsync(CancellationToken cancellationToken)
    {
        if (_items.Count + _buffer.Count == 0)
        {
            return;
        }

        try
        {
            // Buffered items too: they wait for a slot under a lease like any other.
            await queue.RenewAsync(Owner, [.. _items.Keys, .. _buffer.Ids], cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
        }
    }

    /// <summary>
    /// Work after an empty queue (a new batch, most likely): the coordinator wakes the other idle workers, which would
    /// otherwise find it only when their idle wait ends. At time scale 0.01 in the benchmark's gpu scenario, the silos'
    /// first requests went out up to 0.8 s apart, 1–4% of the run's slot-seconds.
    /// </summary>
    private async Task TellWorkFoundAsync()
    {
        try
        {
            await GrainFactory.GetCoordinator().WorkFoundAsync(Owner);
        }
        catch (Exception ex)
        {
            // The others find the work when their idle wait ends, as they would without it.
            LogWakeFailed(logger, ex.Message);
        }
    }

    /// <summary>Waits <paramref name="delay"/> on an empty queue, or until another worker found work (<see cref="WakeAsync"/>).</summary>
    private async Task IdleAsync(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await _wake.Task.WaitAsync(delay, time, stop);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }

        if (_wake.Task.IsCompleted)
        {
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
