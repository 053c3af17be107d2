using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using OrleansLlm.Options;
using OrleansLlm.Placement;
using OrleansLlm.Queue;

namespace OrleansLlm.Worker;

/// <summary>
/// The one worker of a silo: leases items from Redis and keeps up to <see cref="IConcurrencyController.Limit"/>
/// requests in flight to the silo's own Ollama.
/// </summary>
/// <remarks>
/// Reentrant so that the pump, the per-item calls and the timers interleave on the grain's single thread:
/// no locks, and every await returns to the grain scheduler.
/// </remarks>
[Reentrant]
[SiloLocalPlacement]
[GrainDirectory(GrainDirectoryName = DirectoryName)]
public sealed partial class WorkerGrain(
    RedisWorkQueue queue,
    ItemProcessor processor,
    IConcurrencyController concurrency,
    LocalWorkerState localState,
    IOptions<WorkerOptions> workerOptions,
    IOptions<QueueOptions> queueOptions,
    ILocalSiloDetails localSilo,
    TimeProvider time,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    /// <summary>
    /// Workers register in a Redis-backed grain directory, not the default one spread over the silos: there, the death
    /// of any silo deactivates the activations whose entries it held, which would interrupt healthy workers elsewhere.
    /// </summary>
    public const string DirectoryName = "orleansllm-workers";

    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly QueueOptions _queue = queueOptions.Value;
    // Every started item until Redis has its outcome; of those, the ones whose Ollama call still runs (what the limit bounds).
    private readonly Dictionary<string, Task> _items = new(StringComparer.Ordinal);
    private readonly HashSet<string> _calling = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopLeasing = new();
    private readonly CancellationTokenSource _abortCalls = new();
    private TaskCompletionSource _slotFreed = NewSignal();
    private Task _pump = Task.CompletedTask;
    private Task? _drain;
    private WorkerState _state = WorkerState.Active;
    private long _completed;
    private long _failed;
    private long _deadLettered;
    private int _unreachableStreak;

    private string Owner => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Owner != localSilo.SiloAddress.ToParsableString())
        {
            throw new InvalidOperationException($"Worker {Owner} was activated on silo {localSilo.SiloAddress}; its placement must keep it on its own silo.");
        }

        // KeepAlive: the worker lives as long as its silo, busy or idle.
        this.RegisterGrainTimer(RenewLeasesAsync, new GrainTimerCreationOptions(_queue.LeaseDuration / 3, _queue.LeaseDuration / 3)
        {
            Interleave = true,
            KeepAlive = true,
        });
        this.RegisterGrainTimer(ReportAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.HeartbeatInterval)
        {
            Interleave = true,
            KeepAlive = true,
        });
        localState.Set(WorkerState.Active);
        _pump = PumpAsync(_stopLeasing.Token);
        LogStarted(logger, Owner, processor.OllamaUrl, processor.Model, concurrency.Limit);
        return Task.CompletedTask;
    }

    public Task StartAsync() => Task.CompletedTask;

    public Task DrainAsync(TimeSpan? timeout)
    {
        _drain ??= RunDrainAsync(timeout ?? _options.DrainTimeout, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task<WorkerStatus> GetStatusAsync() => Task.FromResult(Status());

    private WorkerStatus Status() => new(
        Owner, _state, _calling.Count, concurrency.Limit, _completed, _failed, _deadLettered, processor.OllamaUrl.ToString());

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
    }

    private async Task PumpAsync(CancellationToken stop)
    {
        var idleDelay = _options.PollMinDelay;
        while (!stop.IsCancellationRequested)
        {
            if (_unreachableStreak > 0)
            {
                // Ollama is down: wait for it rather than lease items it can't serve.
                await DelayAsync(TimeSpan.FromMilliseconds(Math.Min(10_000, 100 * Math.Pow(2, Math.Min(_unreachableStreak, 10)))), stop);
            }

            var free = concurrency.InFlightAllowed - _calling.Count;
            if (free <= 0)
            {
                // Bounded, so a missed signal or a lowered limit can never park the pump for good.
                await WaitAsync(_slotFreed.Task, _options.PollMaxDelay, stop);
                continue;
            }

            IReadOnlyList<Lease> leases;
            try
            {
                leases = await queue.LeaseAsync(Owner, free, _queue.LeaseDuration, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogLeaseFailed(logger, ex);
                await DelayAsync(_options.PollMaxDelay, stop);
                continue;
            }

            if (leases.Count == 0)
            {
                await DelayAsync(idleDelay, stop);
                idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, _options.PollMaxDelay.Ticks));
                continue;
            }

            idleDelay = _options.PollMinDelay;
            foreach (var lease in leases)
            {
                Start(lease);
            }
        }
    }

    private void Start(Lease lease)
    {
        var ticket = concurrency.OnSent(_calling.Count);
        _calling.Add(lease.Id);
        var run = RunAsync(lease, ticket);
        // RunAsync may finish synchronously (a malformed item); only track what is still running.
        if (!run.IsCompleted)
        {
            _items[lease.Id] = run;
        }
    }

    private async Task RunAsync(Lease lease, ConcurrencyTicket ticket)
    {
        try
        {
            var call = await processor.CallAsync(lease, Owner, _abortCalls.Token);
            // Ollama is done with it: free the slot now, so its next request does not wait for Redis to record this one.
            FreeSlot(lease.Id);
            switch (call.Outcome)
            {
                case ItemOutcome.Answered:
                    _unreachableStreak = 0;
                    concurrency.OnSuccess(ticket, call.Generation!);
                    await processor.RecordAsync(lease, call.Result!, CancellationToken.None);
                    _completed++;
                    break;
                case ItemOutcome.Failed:
                    _failed++;
                    _unreachableStreak = 0;
                    concurrency.OnFailure(ticket);
                    break;
                case ItemOutcome.OllamaUnreachable:
                    _unreachableStreak++;
                    concurrency.OnFailure(ticket);
                    break;
                case ItemOutcome.DeadLettered:
                    _deadLettered++;
                    concurrency.OnAbandoned(ticket);
                    break;
            }
        }
        catch (OperationCanceledException) when (_abortCalls.IsCancellationRequested)
        {
            // The drain ran out of time; it hands this lease back itself.
            concurrency.OnAbandoned(ticket);
        }
        catch (Exception ex)
        {
            // Redis failed while settling the item: the lease stays and expires, so the item is retried, not lost.
            LogSettleFailed(logger, ex, lease.Id);
        }
        finally
        {
            FreeSlot(lease.Id);
            _items.Remove(lease.Id);
        }
    }

    private void FreeSlot(string leaseId)
    {
        if (_calling.Remove(leaseId))
        {
            var freed = _slotFreed;
            _slotFreed = NewSignal();
            freed.TrySetResult();
        }
    }

    private async Task RunDrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _state = WorkerState.Draining;
        localState.Set(_state);
        LogDraining(logger, Owner, _calling.Count, timeout);
        _stopLeasing.Cancel();
        await ReportAsync(CancellationToken.None);
        await _pump;

        var pending = Task.WhenAll(_items.Values);
        await Task.WhenAny(pending, Task.Delay(timeout, time, cancellationToken));
        // Only Ollama calls can take long; an item whose answer is being recorded finishes on its own.
        var unfinished = _calling.ToArray();
        if (unfinished.Length > 0)
        {
            _abortCalls.Cancel();
            await pending;
            var released = await queue.ReleaseAsync(Owner, unfinished, CancellationToken.None);
            LogReleased(logger, released, Owner);
        }

        await pending;
        _state = WorkerState.Drained;
        localState.Set(_state);
        LogDrained(logger, Owner, _completed);
        await ReportAsync(CancellationToken.None);
    }

    // The heartbeat also re-creates the coordinator after its silo died, since calling it activates it again.
    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        // [k8s] The one call for the pod deletion cost (Kubernetes/PodDeletionCostReporter): the items this worker holds.
        localState.SetInFlight(_items.Count);
        try
        {
            await GrainFactory.GetGrain<ICoordinatorGrain>(0).ReportAsync(Status());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReportFailed(logger, ex.Message);
        }
    }

    private async Task RenewLeasesAsync(CancellationToken cancellationToken)
    {
        if (_pump.IsCompleted && _drain is null)
        {
            // The pump only ends when draining; anything else is a bug, and a stopped pump would idle the silo.
            LogPumpStopped(logger, _pump.Exception, Owner);
            _pump = PumpAsync(_stopLeasing.Token);
        }

        if (_items.Count == 0)
        {
            return;
        }

        try
        {
            await queue.RenewAsync(Owner, _items.Keys.ToArray(), _queue.LeaseDuration, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
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

    private async Task WaitAsync(Task signal, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await signal.WaitAsync(timeout, time, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
    }

    // Continuations run asynchronously (queued to the grain's scheduler), never inline inside whoever frees a slot.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
