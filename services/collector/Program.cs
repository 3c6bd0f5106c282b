using Egressd.Collector;
using Egressd.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEgressdDefaults("egressd-collector", defaultPort: 6061);
builder.AddCollector();
var app = builder.Build();
app.MapEgressdEndpoints();
return await app.RunEgressdAsync();
