using OrleansLlm.Inference;
using OrleansLlm.Ollama;

namespace OrleansLlm.Worker;

/// <summary>What one answer says about its backend, in seconds.</summary>
/// <param name="QueueShare">Its wait for a slot, as a share of its service time.</param>
/// <param name="SecondsPerToken">Its generation time per generated token; NaN if it generated none.</param>
internal readonly record struct AnswerSample(double QueueShare, double SecondsPerToken, double Service, double Wait)
{
    public static AnswerSample Of(Generation generation)
    {
        var service = generation.ServiceTime.TotalSeconds;
        var wait = generation.QueueWait.TotalSeconds;
        return new AnswerSample(
            service > 0 ? wait / service : 0,
            generation.EvalCount > 0 ? generation.EvalDuration.TotalSeconds / generation.EvalCount : double.NaN,
            service,
            wait);
    }

    /// <summary>
    /// The median time per token of the answers that generated any, or 0 if none did. Per token, so long and short
    /// answers compare.
    /// </summary>
    public static double MedianSecondsPerToken(IEnumerable<AnswerSample> samples)
    {
        var sorted = samples.Select(s => s.SecondsPerToken).Where(s => !double.IsNaN(s)).Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[sorted.Length / 2];
    }
}
