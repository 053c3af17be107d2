using System.Net;
using System.Net.Sockets;

namespace OrleansLlm.Testing;

/// <summary>Loopback ports for the servers tests start (silos, gateways, metrics, simulators, Redis).</summary>
/// <remarks>
/// Ports come from below the OS's ephemeral range (32768–60999 on Linux: <c>/proc/sys/net/ipv4/ip_local_port_range</c>).
/// The OS hands ephemeral ports to every outgoing connection, and the tests open hundreds at once, so a port probed
/// free there could be taken by a client socket before the server bound it (it was, in CI, twice). Below that range
/// only servers bind. Each process walks the range from its own offset, and never hands out one port twice, so
/// neither two tests of one process nor two test processes running side by side ask for the same port.
/// </remarks>
public static class FreePorts
{
    private const int First = 20_000;
    private const int Count = 12_000;

    // Shared by every test of the process, on purpose: what it guards against is two tests drawing the same port.
    private static int s_drawn = Environment.ProcessId * 7_919 % Count;

    /// <summary>A loopback port nothing listens on right now, never handed out before in this process.</summary>
    public static int Next() => Take(1, new HashSet<int>())[0];

    /// <summary><paramref name="count"/> different loopback ports nothing listens on, none of <paramref name="except"/>.</summary>
    public static int[] Take(int count, IReadOnlySet<int> except)
    {
        var ports = new List<int>(count);
        for (var tries = 0; ports.Count < count; tries++)
        {
            if (tries == Count)
            {
                throw new InvalidOperationException($"no free loopback port between {First} and {First + Count - 1}");
            }

            var port = First + (int)((uint)Interlocked.Increment(ref s_drawn) % Count);
            if (!except.Contains(port) && IsFree(port))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
