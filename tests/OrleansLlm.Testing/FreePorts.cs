using System.Net;
using System.Net.Sockets;

namespace OrleansLlm.Testing;

public static class FreePorts
{
    /// <summary>A loopback port nothing listens on right now (the OS picks it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// <paramref name="count"/> different loopback ports nothing listens on, none of <paramref name="except"/>: each is
    /// held while the next is asked for, since the OS may hand a port back as soon as its probe closes.
    /// </summary>
    public static int[] Take(int count, IReadOnlySet<int> except)
    {
        var listeners = new List<TcpListener>();
        try
        {
            var ports = new List<int>(count);
            while (ports.Count < count)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listeners.Add(listener);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (!except.Contains(port))
                {
                    ports.Add(port);
                }
            }

            return [.. ports];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
