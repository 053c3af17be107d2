using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Placement;
using OrleansLlm.Queue;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Worker;

/// <summary>
/// The one worker of a silo: leases items from Redis and keeps up to <see cref="IConcurrencyController.Limit"/>
/// requests in flight to the silo's own Ollama. One item's path: <see cref="PumpAsync"/> leases it,
/// <see cref="RunAsync"/> has <see cref="ItemProcessor"/> call Ollama, and <see cref="SettleAsync"/> records
/// what came of it in Redis.
/// </summary>
/// <remarks>
/// Reentrant so that the pump, the per-item calls and the timers interleave on the grain's single thread:
/// no locks, and every await returns to the grain scheduler.
/// </remarks>
[Reentrant]
[SiloLocalPlacement]
[GrainDirectory(GrainDirectoryName = DirectoryName)]
public sealed partial class WorkerGrain(
    RedisLeaseQueue queue,
    ItemProcessor processor,
    IConcurrencyController concurrency,
    BackendBreaker breaker,
    ServedModels served,
    LocalWorkerState localState,
    WorkerMetrics metrics,
    IOptions<WorkerOptions> workerOptions,
    IOptions<QueueOptions> queueOptions,
    ILocalSiloDetails localSilo,
    TimeProvider time,
    IHostApplicationLifetime host,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain
{
    /// <summary>
    /// Workers register in a Redis-backed grain directory, not the default one spread over the silos: there, the death
    /// of any silo deactivates the activations whose entries it held, which would interrupt healthy workers elsewhere.
    /// </summary>
    public const string DirectoryName = "orleansllm-workers";

    // Settling an answered item is retried while Redis is away (a restart, a failover); past this the lease is left
    // to expire, and the item is computed again elsewhere rather than waiting for ever.
    private static readonly TimeSpan SettleFirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SettleMaxBackoff = TimeSpan.FromSeconds(5);

    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly QueueOptions _queue = queueOptions.Value;
    // Every started item until Redis has its outcome; of those, the ones whose Ollama call still runs (what the limit bounds).
    private readonly Dictionary<string, Task> _items = new(StringComparer.Ordinal);
    private readonly HashSet<string> _calling = new(StringComparer.Ordinal);
    // Leases whose item a drain cut short (an Ollama call, or a breaker probe deciding whose fault a failure was): the
    // drain hands them back.
    private readonly List<string> _aborted = [];
    // Replaced when an operator undrains the worker (UndrainAsync): a drain cancels both for good.
    private CancellationTokenSource _stopLeasing = new();
    private CancellationTokenSource _abortCalls = new();
    private readonly RecentWaits _waits = new(time);
    private TaskCompletionSource _slotFreed = NewSignal();
    private IGrainTimer? _renewTimer;
    private IGrainTimer? _heartbeatTimer;
    private Task _pump = Task.CompletedTask;
    private Task? _drain;
    private WorkerState _state = WorkerState.Active;
    private long _completed;
    private long _failed;
    private long _deadLettered;

    private string Owner => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Owner != localSilo.SiloAddress.ToParsableString())
        {
            throw new InvalidOperationException($"Worker {Owner} was activated on silo {localSilo.SiloAddress}; its placement must keep it on its own silo.");
        }

        // KeepAlive: the worker lives as long as its silo, busy or idle.
        _renewTimer = this.RegisterGrainTimer(RenewLeasesAsync, new GrainTimerCreationOptions(_queue.LeaseDuration / 3, _queue.LeaseDuration / 3)
        {
            Interleave = true,
            KeepAlive = true,
        });
        _heartbeatTimer = this.RegisterGrainTimer(ReportAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.HeartbeatInterval)
        {
            Interleave = true,
            KeepAlive = true,
        });
        localState.Set(WorkerState.Active);
        _pump = PumpAsync(_stopLeasing.Token);
        LogStarted(logger, Owner, processor.OllamaUrl, processor.Model, concurrency.Limit);
        return Task.CompletedTask;
    }

    public Task StartAsync()
    {
        if (_pump.IsCompleted && _drain is null)
        {
            // The pump only ends when draining; anything else is a bug, and a stopped pump would idle the silo.
            LogPumpStopped(logger, _pump.Exception, Owner);
            _pump = PumpAsync(_stopLeasing.Token);
        }

        return Task.CompletedTask;
    }

    public Task DrainAsync(TimeSpan? timeout)
    {
        _drain ??= RunDrainAsync(timeout ?? _options.DrainTimeout, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task<WorkerStatus> GetStatusAsync() => Task.FromResult(Status());

    /// <summary>
    /// Undoes an operator's drain (<c>orleansllm undrain</c>): fresh cancellation sources, since the drain cancelled
    /// the old ones, and a new pump. Only a finished drain is undone, so no item is both handed back and still run;
    /// a silo that is shutting down drains for good.
    /// </summary>
    public async Task<bool> UndrainAsync()
    {
        if (_state == WorkerState.Active)
        {
            return false;
        }

        if (host.ApplicationStopping.IsCancellationRequested)
        {
            throw new InvalidOperationException($"Silo {Owner} is shutting down; its worker can't take work again.");
        }

        if (_state == WorkerState.Draining)
        {
            throw new InvalidOperationException($"Worker {Owner} is still draining ({_calling.Count} in flight); undrain it once it is drained.");
        }

        _stopLeasing.Dispose();
        _abortCalls.Dispose();
        _stopLeasing = new CancellationTokenSource();
        _abortCalls = new CancellationTokenSource();
        _drain = null;
        _state = WorkerState.Active;
        localState.Set(_state);
        _pump = PumpAsync(_stopLeasing.Token);
        LogUndrained(logger, Owner);
        await ReportAsync(CancellationToken.None);
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

    /// <summary>Leases as many items as there are free slots, and starts each one.</summary>
    private async Task PumpAsync(CancellationToken stop)
    {
        var idleDelay = _options.PollMinDelay;
        while (!stop.IsCancellationRequested)
        {
            if (breaker.IsOpen)
            {
                // Ollama is broken: lease nothing it can't serve, so the healthy silos get the work.
                await WaitForBackendAsync(stop);
                continue;
            }

            var free = concurrency.InFlightAllowed - _calling.Count;
            if (free <= 0)
            {
                // Bounded, so a missed signal or a lowered limit can never park the pump for good.
                await WaitAsync(_slotFreed.Task, _options.PollMaxDelay, stop);
                continue;
            }

            LeaseResult leased;
            try
            {
                // Only items of models this silo's Ollama has; those of a model no silo has wait, parked.
                leased = await queue.LeaseAsync(Owner, free, await served.GetAsync(stop), stop);
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

            var leases = leased.Leases;
            if (leases.Count == 0 && leased.More)
            {
                // The call spent its steps parking or removing items on the way: more may be ready behind them.
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
                var ticket = concurrency.OnSent(_calling.Count);
                _calling.Add(lease.Id);
                var run = RunAsync(lease, ticket);
                // RunAsync may finish synchronously (a malformed item); only track what is still running.
                if (!run.IsCompleted)
                {
                    _items[lease.Id] = run;
                }
            }
        }
    }

    /// <summary>One item: call Ollama, free the slot, settle.</summary>
    private async Task RunAsync(Lease lease, ConcurrencyTicket ticket)
    {
        // Every line logged about the item carries its ids; its spans join the trace its envelope names.
        var item = new ItemScope(lease, Owner, _queue.MaxItemBytes);
        using var logScope = logger.BeginScope(item);
        using var span = OrleansLlmActivities.StartLease(item);
        var sentAt = time.GetUtcNow();
        ItemOutcome? outcome = null;
        try
        {
            outcome = await processor.ProcessAsync(lease, Owner, _abortCalls.Token);
            // Ollama is done with it: free the slot now, so its next request does not wait for Redis to record this one.
            FreeSlot(lease.Id);
            span.SetOutcome(outcome);
            await SettleAsync(lease, outcome, ticket, sentAt);
        }
        catch (OperationCanceledException) when (_abortCalls.IsCancellationRequested)
        {
            // The drain ran out of time; it hands this lease back itself.
            _aborted.Add(lease.Id);
            concurrency.OnAbandoned(ticket);
            span.SetFailure(OrleansLlmActivities.AbortedReason, "the drain ran out of time; the item is handed back");
        }
        catch (Exception ex)
        {
            // Redis stayed away while settling: the lease stays and expires, so the item is retried, not lost.
            if (outcome is null)
            {
                concurrency.OnAbandoned(ticket);
            }

            LogSettleFailed(logger, ex, lease.Id);
            span.SetFailure(FailureReasons.Error, $"recording the outcome failed: {ex.Message}");
        }
        finally
        {
            FreeSlot(lease.Id);
            _items.Remove(lease.Id);
        }
    }

    /// <summary>Every outcome of an item is recorded here, and only here.</summary>
    private async Task SettleAsync(Lease lease, ItemOutcome outcome, ConcurrencyTicket ticket, DateTimeOffset sentAt)
    {
        switch (outcome)
        {
            case ItemOutcome.Answered answered:
                breaker.OnSuccess();
                concurrency.OnSuccess(ticket, answered.Generation);
                _waits.Add(answered.Generation.QueueWait);
                var stored = await RecordAsync(OrleansLlmActivities.CompleteName,
                    () => queue.CompleteAsync(lease, Owner, answered.ItemId, answered.Result, answered.Usage, CancellationToken.None));
                if (stored == CompleteOutcome.Conflict)
                {
                    // A raw item whose id has a result already: the same item delivered twice, or another item with its id.
                    await SettleRepeatedIdAsync(lease, answered);
                    break;
                }

                if (stored == CompleteOutcome.Late)
                {
                    // Its lease had gone back and the item ended elsewhere first: nothing was stored, nothing is lost.
                    metrics.Late();
                    LogLate(logger, answered.ItemId, answered.BatchId, lease.Id);
                    break;
                }

                _completed++;
                metrics.Completed();
                LogCompleted(logger, answered.ItemId, answered.BatchId, lease.Id);
                break;

            case ItemOutcome.Failed failed:
                concurrency.OnFailure(ticket);
                Count(lease, failed.Reason, failed.Error, failed.RetryAfter,
                    await RecordAsync(OrleansLlmActivities.FailName, () => queue.FailAsync(lease, Owner, failed.Error, failed.RetryAfter, CancellationToken.None)));
                break;

            case ItemOutcome.BackendFault fault when !fault.Certain && await breaker.IsHealthyAsync(sentAt, _abortCalls.Token):
                // The backend serves other requests: this item is what fails, so it spends an attempt.
                concurrency.OnFailure(ticket);
                Count(lease, fault.Reason, fault.Error, fault.RetryAfter,
                    await RecordAsync(OrleansLlmActivities.FailName, () => queue.FailAsync(lease, Owner, fault.Error, fault.RetryAfter, CancellationToken.None)));
                break;

            case ItemOutcome.BackendFault fault:
                // The backend is broken: the item goes back for another silo without spending an attempt.
                concurrency.OnFailure(ticket);
                breaker.Trip(fault.Error);
                Count(lease, fault.Reason, fault.Error, fault.RetryAfter,
                    await RecordAsync(OrleansLlmActivities.ReleaseName, () => queue.ReportBackendFaultAsync(lease, Owner, fault.Error, fault.RetryAfter, CancellationToken.None)));
                break;

            case ItemOutcome.Malformed malformed:
                concurrency.OnAbandoned(ticket);
                await RecordAsync(OrleansLlmActivities.DeadLetterName, () => queue.DeadLetterAsync(lease, Owner, $"malformed item: {malformed.Reason}", TokenUsage.Zero, CancellationToken.None));
                _deadLettered++;
                metrics.DeadLettered(FailureReasons.Malformed);
                LogDeadLettered(logger, lease.Id, malformed.Reason);
                break;

            case ItemOutcome.DuplicateId duplicate:
                concurrency.OnAbandoned(ticket);
                await DeadLetterDuplicateAsync(lease, duplicate);
                break;

            case ItemOutcome.InvalidAnswer invalid:
                // Ollama served it: neither the backend nor the concurrency limit is to blame.
                breaker.OnSuccess();
                concurrency.OnSuccess(ticket, invalid.Generation);
                await RecordAsync(OrleansLlmActivities.DeadLetterName, () => queue.DeadLetterAnswerAsync(
                    lease, Owner, "answer does not match the batch's format", invalid.Error, invalid.Answer, invalid.Usage, CancellationToken.None));
                _deadLettered++;
                metrics.DeadLettered(FailureReasons.InvalidAnswer);
                LogDeadLettered(logger, lease.Id, invalid.Error);
                break;

            case ItemOutcome.AlreadyDone done:
                concurrency.OnAbandoned(ticket);
                await DiscardAsync(lease, done);
                break;
        }
    }

    /// <summary>
    /// Settles an answered raw item whose id turned out to have a result already: discarded when that result is this
    /// very item's, else dead-lettered as a duplicate id, so both are kept.
    /// </summary>
    private async Task SettleRepeatedIdAsync(Lease lease, ItemOutcome.Answered answered)
    {
        switch (await processor.RepeatedIdAsync(lease, answered.Usage, CancellationToken.None))
        {
            case ItemOutcome.DuplicateId duplicate:
                await DeadLetterDuplicateAsync(lease, duplicate);
                break;
            case ItemOutcome.AlreadyDone done:
                await DiscardAsync(lease, done);
                break;
        }
    }

    private async Task DeadLetterDuplicateAsync(Lease lease, ItemOutcome.DuplicateId duplicate)
    {
        await RecordAsync(OrleansLlmActivities.DeadLetterName, () => queue.DeadLetterAsync(lease, Owner, duplicate.Reason, duplicate.Usage, CancellationToken.None));
        _deadLettered++;
        metrics.DeadLettered(FailureReasons.DuplicateId);
        LogDeadLettered(logger, lease.Id, duplicate.Reason);
    }

    private async Task DiscardAsync(Lease lease, ItemOutcome.AlreadyDone done)
    {
        await RecordAsync(OrleansLlmActivities.CompleteName, () => queue.DiscardAsync(lease, Owner, done.Usage, CancellationToken.None));
        LogAlreadyDone(logger, done.ItemId, lease.Id);
    }

    /// <summary>Counts a failed call by what became of its item.</summary>
    private void Count(Lease lease, string reason, string error, TimeSpan retryAfter, FailOutcome fate)
    {
        metrics.Failed(reason);
        switch (fate)
        {
            case FailOutcome.DeadLettered:
                _deadLettered++;
                metrics.DeadLettered(FailureReasons.MaxAttempts);
                LogDeadLettered(logger, lease.Id, $"failed {lease.FailedAttempts + 1} attempts: {error}");
                break;
            case FailOutcome.Retrying:
                _failed++;
                LogFailed(logger, lease.Id, lease.FailedAttempts + 1, retryAfter, error);
                break;
            case FailOutcome.Released:
                LogBackendFault(logger, lease.Id, error);
                break;
            case FailOutcome.Removed:
                LogRemoved(logger, lease.Id, error);
                break;
        }
    }

    /// <summary>Records an outcome in Redis, in a span of its own, retrying while Redis is briefly away.</summary>
    private async Task<T> RecordAsync<T>(string spanName, Func<Task<T>> write)
    {
        using var span = OrleansLlmActivities.StartSettle(spanName);
        return await WithRetriesAsync(write);
    }

    private Task RecordAsync(string spanName, Func<Task> write) => RecordAsync(spanName, async () =>
    {
        await write();
        return true;
    });

    private async Task WaitForBackendAsync(CancellationToken stop)
    {
        try
        {
            await breaker.WaitUntilClosedAsync(stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
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
            metrics.Released(released);
            LogReleased(logger, released, Owner);
        }

        _state = WorkerState.Drained;
        localState.Set(_state);
        LogDrained(logger, Owner, _completed);
        await ReportAsync(CancellationToken.None);
    }

    private WorkerStatus Status() => new(
        Owner, _state, _calling.Count, concurrency.Limit, _completed, _failed, _deadLettered, processor.OllamaUrl.ToString(), _waits.P99());

    // The heartbeat also re-creates the coordinator after its silo died, since calling it activates it again.
    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        // [k8s] The one call for the pod deletion cost (Kubernetes/PodDeletionCostReporter): the items this worker holds.
        localState.SetInFlight(_items.Count);
        try
        {
            var status = Status();
            metrics.Publish(status);
            await GrainFactory.GetCoordinator().ReportAsync(status);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReportFailed(logger, ex.Message);
        }
    }

    private async Task RenewLeasesAsync(CancellationToken cancellationToken)
    {
        if (_items.Count == 0)
        {
            return;
        }

        try
        {
            await queue.RenewAsync(Owner, _items.Keys.ToArray(), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
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

    /// <summary>
    /// Runs a Redis write that settles an item until it succeeds, backing off, for at most one lease duration: the
    /// lease is renewed meanwhile, so a short Redis outage costs a wait, not the item's Ollama call.
    /// </summary>
    private async Task<T> WithRetriesAsync<T>(Func<Task<T>> write)
    {
        var deadline = time.GetUtcNow() + _queue.LeaseDuration;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException && time.GetUtcNow() < deadline)
            {
                var delay = Backoff(SettleFirstBackoff, SettleMaxBackoff, attempt);
                LogSettleRetry(logger, attempt, delay, ex.Message);
                await Task.Delay(delay, time);
            }
        }
    }

    private static TimeSpan Backoff(TimeSpan first, TimeSpan max, int attempt) =>
        TimeSpan.FromTicks(Math.Min(max.Ticks, first.Ticks << Math.Min(attempt - 1, 16)));

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
