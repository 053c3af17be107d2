namespace OllamaSim;

/// <summary>
/// Running totals behind the OpenAI mode's <c>/metrics</c> counters (tokens, processing time, finished requests by
/// reason), thread-safe. Never reset: Prometheus counters only go up.
/// </summary>
internal sealed class ServedTokens
{
    private readonly Lock _gate = new();
    private long _promptTokens;
    private long _generationTokens;
    private double _promptSeconds;
    private double _generationSeconds;
    private long _stopped;
    private long _cutByLength;

    public void Prompted(int tokens, double seconds)
    {
        lock (_gate)
        {
            _promptTokens += tokens;
            _promptSeconds += seconds;
        }
    }

    public void Generated(int tokens, double seconds, string finishReason)
    {
        lock (_gate)
        {
            _generationTokens += tokens;
            _generationSeconds += seconds;
            if (finishReason == "length")
            {
                _cutByLength++;
            }
            else
            {
                _stopped++;
            }
        }
    }

    public ServedTokensSnapshot Read()
    {
        lock (_gate)
        {
            return new ServedTokensSnapshot(_promptTokens, _generationTokens, _promptSeconds, _generationSeconds, _stopped, _cutByLength);
        }
    }
}
