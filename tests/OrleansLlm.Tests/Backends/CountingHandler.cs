namespace OrleansLlm.Tests.Backends;

/// <summary>Counts the requests a client sends, to wait for a number of them.</summary>
internal sealed class CountingHandler : DelegatingHandler
{
    private int _sent;

    public int Sent => Volatile.Read(ref _sent);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sent);
        return base.SendAsync(request, cancellationToken);
    }
}
