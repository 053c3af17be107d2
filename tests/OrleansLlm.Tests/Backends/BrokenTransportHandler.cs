using System.Net.Sockets;

namespace OrleansLlm.Tests.Backends;

/// <summary>
/// Fails a client's first requests with a bare <see cref="SocketException"/>, as SocketsHttpHandler itself let one out
/// (unwrapped by any HttpRequestException) when a connection was reset as it opened; then passes requests on.
/// </summary>
internal sealed class BrokenTransportHandler(int failures) : DelegatingHandler
{
    private int _failed;

    public int Failed => Volatile.Read(ref _failed);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Interlocked.Increment(ref _failed) <= failures
            ? throw new SocketException((int)SocketError.NotConnected)
            : base.SendAsync(request, cancellationToken);
}
