using OrleansLlm.Inference;

namespace OrleansLlm.Worker;

/// <summary>What one answer says about its backend, in seconds.</summary>
/// <param name="QueueShare">Its wait for a slot, as a share of its service time.</param>
/// <param name="SecondsPerToken">Its generation time per generated token; NaN if it generated none.</param>
/// <param name="Service">The server's time on it; with <see cref="QueueSignal.None"/> its whole time, wait and all.</param>
/// <param name="Signal">Where <paramref name="Wait"/> comes from (with <see cref="QueueSignal.None"/> it is 0, unknown).</param>
internal readonly record struct AnswerSample(double QueueShare, double SecondsPerToken, double Service, double Wait, QueueSignal Signal)
{
    public static AnswerSample Of(Generation generation)
    {
        var service = generation.ServiceTime.TotalSeconds;
        var wait = generation.QueueWait.TotalSeconds;
        return new AnswerSample(
            service > 0 ? wait / service : 0,
            generation.EvalCount > 0 ? generation.EvalDuration.TotalSeconds / generation.EvalCount : double.NaN,
            service,
            wait,
            generation.Signal);
    }

    /// <summary>
    /// The throughput <paramref name="inFlight"/> requests got, by these answers. Where the server timed its work
    /// (or told its queue), <c>inFlight ÷ the median time per generated token</c>: per token, so long and short answers
    /// compare, and the median, so one slow answer does not sway it. Where most answers tell only their latency
    /// (<see cref="QueueSignal.None"/>), Little's law: <c>inFlight ÷ the mean latency</c>, answers per second. A queue
    /// is then in the figure (a median would hide it while fewer than half the answers wait), and the mean is the
    /// only figure that stays flat once every added request only queues; per token it would not do, as the latency
    /// holds the prompt's time too, which a one-token answer would count many times over.
    /// </summary>
    public static double Throughput(IReadOnlyCollection<AnswerSample> samples, int inFlight)
    {
        if (LatencyOnly(samples))
        {
            var latency = samples.Sum(s => s.Service + s.Wait);
            return latency > 0 ? inFlight * samples.Count / latency : double.PositiveInfinity;
        }

        var sorted = samples.Select(s => s.SecondsPerToken).Where(s => !double.IsNaN(s)).Order().ToArray();
        return sorted.Length == 0 || sorted[sorted.Length / 2] <= 0 ? double.PositiveInfinity : inFlight / sorted[sorted.Length / 2];
    }

    /// <summary>Whether most of these answers tell only their latency, so their waits say nothing.</summary>
    public static bool LatencyOnly(IReadOnlyCollection<AnswerSample> samples) =>
        2 * samples.Count(s => s.Signal == QueueSignal.None) > samples.Count;
}
