namespace OrleansLlm.Client;

/// <summary>Redis or the cluster could not be reached; the message is one line a user can act on.</summary>
public sealed class ClusterUnavailableException(string message) : Exception(message);
