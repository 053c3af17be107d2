using OrleansLlm.Queue;

namespace OrleansLlm.QueueModel;

/// <summary>A simulated silo: the leases it believes it holds (some may have gone back), the models it serves, and its last settle.</summary>
public sealed class MSilo(string name)
{
    public string Name { get; } = name;

    public List<Lease> Held { get; } = [];

    public HashSet<string> Served { get; } = new(StringComparer.Ordinal);

    /// <summary>Its latest answers, to send again in a group (<see cref="Op.CompleteGroup"/>).</summary>
    public List<Settle> Answered { get; } = [];

    /// <summary>Its last settle, to send again as after a timeout.</summary>
    public Settle? LastSettle { get; set; }
}
