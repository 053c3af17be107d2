namespace OrleansLlm.Security;

/// <summary>Who may be at the other end of a cluster connection.</summary>
public enum ClusterPeer
{
    /// <summary>A silo: on the silo port, and the gateway or silo a connection is made to.</summary>
    Silo,

    /// <summary>A client: on the gateway.</summary>
    Client,
}
