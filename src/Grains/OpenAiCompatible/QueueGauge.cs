namespace OrleansLlm.OpenAiCompatible;

/// <summary>One reading of the server's own queue, from its <c>/metrics</c>.</summary>
/// <param name="Server">Whose names the reading came under: <c>vllm</c>, <c>sglang</c> or <c>llamacpp</c>.</param>
/// <param name="Waiting">Requests waiting for room (a KV-cache slot, a free slot), summed over the server's engines.</param>
/// <param name="Running">Requests being computed.</param>
public readonly record struct QueueGauge(string Server, double Waiting, double Running)
{
    /// <summary>
    /// The part of a request's time spent waiting, by Little's law: with as many arriving as leaving, requests spend
    /// time in each stage in proportion to how many are in it, so waiting/(waiting + running). 0 when the server is idle.
    /// </summary>
    public double WaitShare => Waiting + Running > 0 ? Waiting / (Waiting + Running) : 0;
}
