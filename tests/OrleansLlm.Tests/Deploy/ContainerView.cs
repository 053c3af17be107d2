using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>What Pod Security looks at in one container, whatever its kind.</summary>
public sealed record ContainerView(
    string Path,
    string Name,
    V1SecurityContext? SecurityContext,
    IList<V1ContainerPort>? Ports,
    IReadOnlyList<(string Name, V1HTTPGetAction? HttpGet, V1TCPSocketAction? TcpSocket)> Handlers);
