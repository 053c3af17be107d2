namespace OllamaSim;

/// <summary>
/// The capacity model: <see cref="Parallel"/> slots with an unbounded FIFO queue in front, and
/// processor sharing between the slots that are computing.
/// <para>
/// Work is measured in "solo seconds": how long the work takes alone at speed 1 and time-scale 1.
/// With k jobs computing, each progresses at <c>speed × aggregate(k) / k / timeScale</c> solo seconds per
/// wall second, where <see cref="CapacityCurve.Aggregate"/> is k^e up to an optional cliff and falls past it.
/// The model is event driven and exact: on every
/// start, finish, cancellation or speed change each job's progress is advanced by the elapsed time × the
/// rate that held since the last event, and one timer is set for the next event (a finish, or a progress
/// milestone such as a streamed token). A late timer does not distort the result because
/// <see cref="Advance"/> replays the events it missed in order. All state is guarded by one lock; task
/// completions run their continuations asynchronously, so no caller code ever runs under it.
/// </para>
/// </summary>
public sealed class SlotScheduler : IDisposable
{
    // A job whose remaining work would finish within this much wall time counts as finished; absorbs
    // floating point noise so a timer firing "exactly" on time never leaves a sliver of work behind.
    private const double ToleranceSeconds = 1e-6;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly CapacityCurve _curve;
    private readonly double _timeScale;
    private readonly LinkedList<Waiter> _queue = new();
    private readonly List<Job> _computing = [];
    private readonly List<double> _queueWaits = [];
    private double _speed;
    private int _busy;
    private long _lastAdvance;
    private long _lastBusyChange;
    private long _statsSince;
    private double _busySlotSeconds;
    private bool _disposed;

    public SlotScheduler(int parallel, CapacityCurve curve, double timeScale = 1, double speed = 1, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        ArgumentNullException.ThrowIfNull(curve);
        try
        {
            curve.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentOutOfRangeException(nameof(curve), curve, ex.Message);
        }

        if (!(timeScale >= 0 && double.IsFinite(timeScale)))
        {
            throw new ArgumentOutOfRangeException(nameof(timeScale), timeScale, "must be finite and >= 0");
        }

        CheckSpeed(speed);

        Parallel = parallel;
        _curve = curve;
        _timeScale = timeScale;
        _speed = speed;
        _time = timeProvider ?? TimeProvider.System;
        _lastAdvance = _lastBusyChange = _statsSince = _time.GetTimestamp();
        _timer = _time.CreateTimer(static s => ((SlotScheduler)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int Parallel { get; }

    public double TimeScale => _timeScale;

    public double ScalingExponent => _curve.ScalingExponent;

    /// <summary>Aggregate throughput against the number of computing slots.</summary>
    public CapacityCurve Curve => _curve;

    public double Speed
    {
        get { lock (_gate)
            {
                return _speed;
            }
        }
    }

    /// <summary>
    /// Waits (FIFO) for a free slot. Dispose the lease to free the slot. The task completes as soon as
    /// the slot is handed over, not when a continuation gets round to running.
    /// </summary>
    public Task<SlotLease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<SlotLease>(cancellationToken);
        }

        Waiter waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _time.GetTimestamp();
            // Slots are handed straight to the head of the queue on release, so a free slot implies an
            // empty queue and taking it here cannot overtake anyone.
            if (_busy < Parallel)
            {
                ChangeBusy(+1, now);
                _queueWaits.Add(0);
                return Task.FromResult(new SlotLease(this, TimeSpan.Zero));
            }

            waiter = new Waiter(now);
            waiter.Node = _queue.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            // Registered outside the lock: Register runs the callback inline if the token is already cancelled.
            var registration = cancellationToken.Register(static s =>
            {
                var (scheduler, w, ct) = ((SlotScheduler, Waiter, CancellationToken))s!;
                scheduler.CancelWaiter(w, ct);
            }, (this, waiter, cancellationToken));
            // Drop the registration once the wait is over, so long-lived tokens don't collect them.
            waiter.Completion.Task.ContinueWith(
                static (_, r) => ((CancellationTokenRegistration)r!).Dispose(),
                registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return waiter.Completion.Task;
    }

    /// <summary>
    /// Starts <paramref name="soloSeconds"/> of work on a held slot, sharing compute with every other
    /// computing slot. The work runs until done, cancelled, or the returned item is disposed.
    /// </summary>
    internal WorkItem StartWork(double soloSeconds, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!double.IsFinite(soloSeconds) || soloSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(soloSeconds), soloSeconds, "must be finite and >= 0");
        }

        var job = new Job(soloSeconds);
        if (soloSeconds == 0 || _timeScale == 0)
        {
            // Time-scale 0: instantaneous, but the caller still went through the slot queue.
            job.Done = soloSeconds;
            job.Completion.TrySetResult();
            return new WorkItem(this, job, default);
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Advance(_time.GetTimestamp());
            _computing.Add(job);
            Reschedule();
        }

        // Registered outside the lock: Register runs the callback inline if the token is already cancelled.
        var registration = cancellationToken.Register(static s =>
        {
            var (scheduler, j, ct) = ((SlotScheduler, Job, CancellationToken))s!;
            scheduler.CancelJob(j, ct);
        }, (this, job, cancellationToken));
        return new WorkItem(this, job, registration);
    }

    /// <summary>Completes when <paramref name="job"/> has done <paramref name="soloSeconds"/> of its work.</summary>
    internal Task WhenDone(Job job, double soloSeconds)
    {
        lock (_gate)
        {
            if (!job.Completion.Task.IsCompleted)
            {
                Advance(_time.GetTimestamp());
            }
            // Finished (or cancelled) work answers every milestone with its own outcome.
            if (job.Completion.Task.IsCompleted)
            {
                return job.Completion.Task;
            }

            var threshold = Math.Min(soloSeconds, job.Total);
            if (threshold <= job.Done)
            {
                return Task.CompletedTask;
            }

            var milestone = new Milestone(threshold);
            var index = job.Milestones.FindIndex(m => m.Threshold > threshold);
            job.Milestones.Insert(index < 0 ? job.Milestones.Count : index, milestone);
            Reschedule();
            return milestone.Reached.Task;
        }
    }

    /// <summary>Changes the hardware speed from now on; work already done is kept.</summary>
    public void SetSpeed(double speed)
    {
        CheckSpeed(speed);
        lock (_gate)
        {
            Advance(_time.GetTimestamp());
            _speed = speed;
            Reschedule();
        }
    }

    /// <summary>
    /// Held slots and queued requests at this instant, for a metrics scrape (vLLM's running and waiting): one lock, no
    /// copies, so a scrape under load neither stalls scheduling nor reads a stale count.
    /// </summary>
    public (int Running, int Waiting) Occupancy
    {
        get
        {
            lock (_gate)
            {
                return (_busy, _queue.Count);
            }
        }
    }

    public SchedulerStats GetStats()
    {
        double[] waits;
        SchedulerStats stats;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            waits = _queueWaits.ToArray();
            stats = new SchedulerStats
            {
                Parallel = Parallel,
                BusySlots = _busy,
                QueueDepth = _queue.Count,
                ComputingSlots = _computing.Count,
                BusySlotSeconds = _busySlotSeconds + _busy * Seconds(_lastBusyChange, now),
                ElapsedSeconds = Seconds(_statsSince, now),
                Speed = _speed,
                TimeScale = _timeScale,
                ScalingExponent = _curve.ScalingExponent,
                CliffAt = _curve.CliffAt,
                CliffSlope = _curve.CliffSlope,
                CliffFloor = _curve.CliffFloor,
            };
        }

        // Sorting happens outside the lock so a stats poll never stalls request scheduling.
        return stats with { QueueWaitSeconds = QueueWaitStats.From(waits) };
    }

    /// <summary>Zeroes the accumulated statistics (busy-slot integral, queue waits); live state is kept.</summary>
    public void ResetStats()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _busySlotSeconds = 0;
            _lastBusyChange = now;
            _statsSince = now;
            _queueWaits.Clear();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var waiter in _queue)
            {
                waiter.Completion.TrySetCanceled();
            }

            _queue.Clear();
            foreach (var job in _computing)
            {
                foreach (var milestone in job.Milestones)
                {
                    milestone.Reached.TrySetCanceled();
                }

                job.Completion.TrySetCanceled();
            }
            _computing.Clear();
        }

        _timer.Dispose();
    }

    internal void Release()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetTimestamp();
            if (_queue.First is { } head)
            {
                // Hand the slot over directly: the busy count stays the same.
                _queue.RemoveFirst();
                var wait = Seconds(head.Value.EnqueuedAt, now);
                _queueWaits.Add(wait);
                head.Value.Completion.TrySetResult(new SlotLease(this, TimeSpan.FromSeconds(wait)));
            }
            else
            {
                ChangeBusy(-1, now);
            }
        }
    }

    private void CancelWaiter(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Not in the list any more means the slot was already handed over; the caller owns a lease.
            if (waiter.Node?.List is null)
            {
                return;
            }

            _queue.Remove(waiter.Node);
            waiter.Completion.TrySetCanceled(cancellationToken);
        }
    }

    internal void CancelJob(Job job, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Credit everyone for the time up to now at the old rate before the job count changes.
            Advance(_time.GetTimestamp());
            if (!_computing.Remove(job))
            {
                return;
            }

            Reschedule();
            foreach (var milestone in job.Milestones)
            {
                milestone.Reached.TrySetCanceled(cancellationToken);
            }

            job.Milestones.Clear();
            job.Completion.TrySetCanceled(cancellationToken);
        }
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            Advance(_time.GetTimestamp());
            Reschedule();
        }
    }

    /// <summary>Solo seconds per wall second for each of <paramref name="computing"/> jobs: they share the aggregate equally.</summary>
    private double Rate(int computing) => _speed * _curve.Aggregate(computing) / computing / _timeScale;

    /// <summary>
    /// Brings every computing job's progress up to <paramref name="now"/>, event by event: at each job
    /// finish the number of computing jobs, and so the rate, changes for the rest of the interval.
    /// </summary>
    private void Advance(long now)
    {
        var elapsed = Seconds(_lastAdvance, now);
        _lastAdvance = now;
        while (_computing.Count > 0)
        {
            var rate = Rate(_computing.Count);
            var firstEvent = _computing.Min(j => j.WorkToNextEvent) / rate;
            var step = Math.Min(firstEvent, elapsed);
            foreach (var job in _computing)
            {
                job.Done += step * rate;
            }

            elapsed -= step;

            if (firstEvent > step + ToleranceSeconds)
            {
                return; // no milestone or finish within the elapsed time
            }

            var slack = rate * ToleranceSeconds;
            for (var i = _computing.Count - 1; i >= 0; i--)
            {
                var job = _computing[i];
                while (job.Milestones.Count > 0 && job.Milestones[0].Threshold - job.Done <= slack)
                {
                    job.Milestones[0].Reached.TrySetResult();
                    job.Milestones.RemoveAt(0);
                }

                if (job.Total - job.Done <= slack)
                {
                    // Finished; the others continue at the rate for one job fewer.
                    job.Done = job.Total;
                    _computing.RemoveAt(i);
                    foreach (var milestone in job.Milestones)
                    {
                        milestone.Reached.TrySetResult();
                    }

                    job.Milestones.Clear();
                    job.Completion.TrySetResult();
                }
            }
        }
    }

    private void Reschedule()
    {
        if (_computing.Count == 0)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var seconds = _computing.Min(j => j.WorkToNextEvent) / Rate(_computing.Count);
        // Whole milliseconds, rounded up: System.Threading.Timer truncates fractions, and firing early
        // would only cost an extra wake-up. Advance() keeps the model exact however late the timer is.
        var dueMs = Math.Max(1, Math.Ceiling(seconds * 1000));
        _timer.Change(TimeSpan.FromMilliseconds(Math.Min(dueMs, int.MaxValue - 1)), Timeout.InfiniteTimeSpan);
    }

    private void ChangeBusy(int delta, long now)
    {
        _busySlotSeconds += _busy * Seconds(_lastBusyChange, now);
        _lastBusyChange = now;
        _busy += delta;
    }

    private double Seconds(long from, long to) => (to - from) / (double)_time.TimestampFrequency;

    private static void CheckSpeed(double speed)
    {
        if (!(speed > 0 && double.IsFinite(speed)))
        {
            throw new ArgumentOutOfRangeException(nameof(speed), speed, "must be finite and > 0");
        }
    }

    private sealed class Waiter(long enqueuedAt)
    {
        public long EnqueuedAt { get; } = enqueuedAt;
        public LinkedListNode<Waiter>? Node { get; set; }
        public TaskCompletionSource<SlotLease> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal sealed class Job(double total)
    {
        public double Total { get; } = total;
        public double Done { get; set; }

        /// <summary>Pending progress notifications, by ascending threshold.</summary>
        public List<Milestone> Milestones { get; } = [];

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public double WorkToNextEvent =>
            (Milestones.Count > 0 ? Math.Min(Milestones[0].Threshold, Total) : Total) - Done;
    }

    internal sealed class Milestone(double threshold)
    {
        public double Threshold { get; } = threshold;
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A held slot. Dispose it to give the slot to the next queued request.</summary>
public sealed class SlotLease : IDisposable
{
    private readonly SlotScheduler _scheduler;
    private int _released;

    internal SlotLease(SlotScheduler scheduler, TimeSpan queueWait)
    {
        _scheduler = scheduler;
        QueueWait = queueWait;
    }

    /// <summary>How long this request waited in the queue for the slot.</summary>
    public TimeSpan QueueWait { get; }

    /// <summary>
    /// Starts <paramref name="soloSeconds"/> of work (seconds alone at speed 1, time-scale 1) on this slot.
    /// It progresses under processor sharing until done; cancelling or disposing the item stops it.
    /// </summary>
    public WorkItem StartWork(double soloSeconds, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
        return _scheduler.StartWork(soloSeconds, cancellationToken);
    }

    /// <summary>Does <paramref name="soloSeconds"/> of work on this slot and waits until it is done.</summary>
    public async Task ProcessAsync(double soloSeconds, CancellationToken cancellationToken)
    {
        using var work = StartWork(soloSeconds, cancellationToken);
        await work.Completion.ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _scheduler.Release();
        }
    }
}

/// <summary>Work in progress on a slot. Dispose it to stop the work if it hasn't finished.</summary>
public sealed class WorkItem : IDisposable
{
    private readonly SlotScheduler _scheduler;
    private readonly SlotScheduler.Job _job;
    private readonly CancellationTokenRegistration _registration;

    internal WorkItem(SlotScheduler scheduler, SlotScheduler.Job job, CancellationTokenRegistration registration)
    {
        _scheduler = scheduler;
        _job = job;
        _registration = registration;
    }

    /// <summary>Completes when all the work is done; cancelled if the work is cancelled.</summary>
    public Task Completion => _job.Completion.Task;

    /// <summary>Completes once <paramref name="soloSeconds"/> of the work are done — e.g. each token of a stream.</summary>
    public Task WhenDoneAsync(double soloSeconds) => _scheduler.WhenDone(_job, soloSeconds);

    public void Dispose()
    {
        _registration.Dispose();
        _scheduler.CancelJob(_job, CancellationToken.None);
    }
}
