using OrleansLlm.Inference;

namespace OrleansLlm.Worker;

/// <summary>
/// One probe round: <see cref="Probes"/> requests sent beyond the limit to see whether Ollama has free slots, and
/// every request sent beside them until the last probe is out. One sent just before a probe may reach Ollama after it
/// and wait in its place, so the round's members decide together, once every one has answered.
/// </summary>
/// <remarks>
/// Once the probes are out the worker sends only up to the limit again: the probes take the place of the next
/// requests to answer, so at most the probes wait for a slot, never a queue of requests behind them.
/// </remarks>
internal sealed class ProbeRound(long id, int limit, int probes, TimeProvider time)
{
    private readonly List<AnswerSample> _answers = [];
    private int _probesSent;
    private int _probesAnswered;
    private int _outstanding;
    private long _sentAt;
    private TimeSpan? _firstAnswer;

    /// <summary>The round's number, carried on its members' tickets; never 0, which marks no round.</summary>
    public long Id => id;

    public int Probes => probes;

    /// <summary>The limit and the probes: the requests in flight the round measures.</summary>
    public int InFlight => limit + probes;

    /// <summary>Whether probes are still to be sent: until then the worker may keep <see cref="InFlight"/> out.</summary>
    public bool Wanted => _probesSent < probes;

    /// <summary>Members that waited for a slot (see <see cref="WaitedForASlot"/>).</summary>
    public int Waited { get; private set; }

    /// <summary>The longest wait of a member, as a share of its service time.</summary>
    public double MaxShare { get; private set; }

    /// <summary>The throughput the members measured (<see cref="AnswerSample.Throughput"/>).</summary>
    public double Throughput => AnswerSample.Throughput(_answers, InFlight);

    /// <summary>Whether most members told only their latency: then none is seen to wait.</summary>
    public bool LatencyOnly => AnswerSample.LatencyOnly(_answers);

    /// <summary>
    /// How many of the round's in flight the server ran at once. It serves in order of arrival, so with its own
    /// durations those that did not wait are its slots. A waiting gauge, though, puts its share of the wall time on
    /// every answer, whether it waited or not; Little's law at the fullest moment says the slots then: in flight ÷
    /// (1 + waiting ÷ running), the largest such share being <see cref="MaxShare"/>.
    /// </summary>
    public int Served => Gauged ? (int)Math.Round(InFlight / (1 + MaxShare)) : InFlight - Waited;

    /// <summary>Whether most members' waits come from the server's waiting gauge.</summary>
    public bool Gauged => _answers.Count(a => a.Signal == QueueSignal.ServerGauge) * 2 > _answers.Count;

    /// <summary>Takes a request sent beside <paramref name="inFlight"/> others into the round; true if it is a probe.</summary>
    public bool Add(int inFlight)
    {
        _outstanding++;
        if (inFlight < limit)
        {
            return false;
        }

        if (++_probesSent == probes)
        {
            _sentAt = time.GetTimestamp();
        }

        return true;
    }

    /// <summary>A slot freed (any answer, failure or abandon): remembers when the first did after the probes went out.</summary>
    public void NoteSlotFreed()
    {
        if (!Wanted)
        {
            _firstAnswer ??= time.GetElapsedTime(_sentAt);
        }
    }

    /// <summary>Records a member's answer; true once every member has answered, the probes included.</summary>
    public bool Answer(AnswerSample sample, bool probe)
    {
        _outstanding--;
        MaxShare = Math.Max(MaxShare, sample.QueueShare);
        if (WaitedForASlot(sample))
        {
            Waited++;
        }

        _answers.Add(sample);
        if (probe)
        {
            _probesAnswered++;
        }

        return _probesAnswered == probes && _outstanding == 0;
    }

    /// <summary>
    /// Whether a member found every slot busy. A wait above <see cref="AdaptiveConcurrencyController.QueueTolerance"/>
    /// says so; so does a shorter one that lasted until the first answer after the probes went out: with many slots
    /// one frees every few hundredths of a service time, so a probe beside full slots often waits only that long, but
    /// it waited all the same, where a probe that found a free slot does not wait at all.
    /// </summary>
    /// <remarks>
    /// A waiting gauge is read now and then (every 250 ms by default), and a probe's share is the mean of the readings
    /// over its life: a queue that a doubling made, and that drained as the older requests left, shows in few of them,
    /// if any. Any waiting it shows was a queue the probes made (the limit alone never made one), so it counts.
    /// </remarks>
    private bool WaitedForASlot(AnswerSample sample) =>
        sample.QueueShare > AdaptiveConcurrencyController.QueueTolerance
        || (sample.Signal == QueueSignal.ServerGauge && sample.Wait > 0)
        || (sample.Wait > 0 && _firstAnswer is { } firstAnswer && sample.Wait >= firstAnswer.TotalSeconds / 2);
}
