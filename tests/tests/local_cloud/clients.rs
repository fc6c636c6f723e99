//! The local cloud through clients other than the Rust SDK, as a new user would reach it: boto3
//! (from the moto venv every local cloud has), which speaks AWS JSON 1.0 (or query) to
//! CloudWatch where the Rust SDK speaks CBOR (issue 32, item 8: "any AWS client works" was false there),
//! and Lambda, API Gateway and ECR with their refusals.
use serde_json::Value;

use e2e::local::{Running, deploy_two_versions, stage_url, unique};

/// Runs `script` under the moto venv's python, with a CloudWatch client `cw` at the local
/// cloud; its stdout is one JSON document.
fn boto3(local: &Running, script: &str) -> Value {
    let sh = xshell::Shell::new().unwrap();
    let bin = bgd_core::setup::ensure_moto(&sh).unwrap();
    let prelude = format!(
        "import boto3, json\nfrom botocore.exceptions import ClientError\ncw = boto3.client('cloudwatch', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='local', aws_secret_access_key='local')\n",
        local.endpoints.front_url
    );
    let out = std::process::Command::new(bin.join("python3"))
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "boto3 failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// Through the client `c`: an alarm set to ALARM and read back beside one that does not exist,
/// and a state refused for the missing one; leaves `alarms` and `refused` for the JSON printed.
const ALARM_ROUND_TRIP: &str = r#"
c.put_metric_alarm(AlarmName='errors', MetricName='Errors', Namespace='AWS/Lambda', Statistic='Sum',
    Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold')
c.set_alarm_state(AlarmName='errors', StateValue='ALARM', StateReason='a test')
alarms = [[a['AlarmName'], a['StateValue'], a['Threshold'], a['StateUpdatedTimestamp'].year > 2000]
    for a in c.describe_alarms(AlarmNames=['errors', 'missing'])['MetricAlarms']]
try:
    c.set_alarm_state(AlarmName='missing', StateValue='OK', StateReason='none')
    refused = None
except ClientError as e:
    refused = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
"#;

/// What [`ALARM_ROUND_TRIP`] must see, as CloudWatch answers: the alarm in its state, with its
/// threshold and when its state was set, and the missing one's refusal.
fn assert_alarm_round_trip(seen: &Value) {
    assert_eq!(
        seen["alarms"],
        serde_json::json!([["errors", "ALARM", 1.0, true]]),
        "{seen}"
    );
    assert_eq!(
        seen["refused"],
        serde_json::json!(["ResourceNotFound", 404]),
        "{seen}"
    );
}

#[tokio::test]
async fn boto3_speaks_json_to_the_local_cloudwatch_and_reads_its_answers_and_refusals() {
    let local = Running::up().await;
    let seen = boto3(
        &local,
        &format!(
            "c = cw\n{ALARM_ROUND_TRIP}\nprint(json.dumps({{'protocol': c.meta.service_model.resolved_protocol, 'alarms': alarms, 'refused': refused}}))"
        ),
    );
    assert_eq!(seen["protocol"], "json", "{seen}");
    assert_alarm_round_trip(&seen);
}

/// The query protocol, which the aws CLI and boto3 spoke to CloudWatch before AWS JSON 1.0
/// (botocore's model is made to list it alone): the front answered it with CBOR, which no
/// query client parses.
#[tokio::test]
async fn boto3_speaks_query_to_the_local_cloudwatch_and_reads_its_xml_answers_and_refusals() {
    let local = Running::up().await;
    let query_client = r#"
import os, tempfile, datetime, botocore.loaders
model = botocore.loaders.Loader().load_service_model('cloudwatch', 'service-2')
model['metadata']['protocol'] = 'query'
model['metadata'].pop('protocols', None)
data = tempfile.mkdtemp()
folder = os.path.join(data, 'cloudwatch', model['metadata']['apiVersion'])
os.makedirs(folder)
json.dump(model, open(os.path.join(folder, 'service-2.json'), 'w'))
os.environ['AWS_DATA_PATH'] = data
c = boto3.session.Session().client('cloudwatch', endpoint_url=cw.meta.endpoint_url,
    region_name='us-east-1', aws_access_key_id='local', aws_secret_access_key='local')
"#;
    let metric_data = r#"
end = datetime.datetime.now(datetime.timezone.utc)
data = c.get_metric_data(StartTime=end - datetime.timedelta(minutes=5), EndTime=end,
    MetricDataQueries=[{'Id': 'n', 'MetricStat': {'Metric': {'Namespace': 'AWS/Lambda',
    'MetricName': 'Invocations', 'Dimensions': [{'Name': 'FunctionName', 'Value': 'none'}]},
    'Period': 60, 'Stat': 'Sum'}}])
print(json.dumps({'protocol': c.meta.service_model.resolved_protocol, 'alarms': alarms,
    'refused': refused, 'results': [r['Id'] for r in data['MetricDataResults']]}))
"#;
    let seen = boto3(
        &local,
        &format!("{query_client}{ALARM_ROUND_TRIP}{metric_data}"),
    );
    assert_eq!(seen["protocol"], "query", "{seen}");
    assert_alarm_round_trip(&seen);
    assert_eq!(seen["results"], serde_json::json!(["n"]), "{seen}");
}

/// Lambda publishes `Invocations` by `FunctionName` alone and with `Resource` as well as with
/// `ExecutedVersion` (docs/aws-behaviours.md row 42): a script asking for the function's or an
/// alias's total reads what the data plane served (the front answered only the three together).
#[tokio::test]
async fn boto3_reads_a_functions_invocations_by_function_name_alone_and_by_alias() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("metrics")).await;
    let http = bgd_tls::client();
    for _ in 0..5 {
        let url = stage_url(&local, &deployed.api, "green", "/version");
        assert_eq!(http.get(url).send().await.unwrap().status(), 200);
    }
    let function = &deployed.function;
    let seen = boto3(
        &local,
        &format!(
            r#"
import datetime
now = datetime.datetime.now(datetime.timezone.utc)
def query(id, dimensions):
    metric = {{'Namespace': 'AWS/Lambda', 'MetricName': 'Invocations', 'Dimensions': dimensions}}
    return {{'Id': id, 'MetricStat': {{'Metric': metric, 'Period': 60, 'Stat': 'Sum'}}}}
function = [{{'Name': 'FunctionName', 'Value': '{function}'}}]
green = function + [{{'Name': 'Resource', 'Value': '{function}:green'}}]
answer = cw.get_metric_data(MetricDataQueries=[query('all', function), query('green', green)],
    StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1))
print(json.dumps({{r['Id']: sum(r['Values']) for r in answer['MetricDataResults']}}))
"#
        ),
    );
    let (all, green) = (
        seen["all"].as_f64().unwrap(),
        seen["green"].as_f64().unwrap(),
    );
    assert!(green >= 5.0, "{seen}");
    assert!(all >= green, "{seen}");
}

/// boto3 (and so the aws CLI, on the same botocore) reads the local cloud's Lambda, API Gateway
/// and ECR answers, and meets their refusals with AWS's codes and statuses (issue 32: "tried as
/// a new user would"): the front forwards these to moto or answers them itself.
#[tokio::test]
async fn boto3_reads_lambda_api_gateway_and_ecr_and_their_refusals_as_aws_answers() {
    let local = Running::up().await;
    let deployed = deploy_two_versions(&local, &unique("clients")).await;
    let (function, api) = (&deployed.function, &deployed.api.id);
    let url = &local.endpoints.front_url;
    let seen = boto3(
        &local,
        &format!(
            r#"
kw = dict(endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='local', aws_secret_access_key='local')
lam, gw, ecr = (boto3.client(s, **kw) for s in ('lambda', 'apigateway', 'ecr'))
def refusal(call):
    try:
        call()
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps({{
    'package': lam.get_function(FunctionName='{function}')['Configuration']['PackageType'],
    'green': lam.get_alias(FunctionName='{function}', Name='green')['FunctionVersion'],
    'versions': [v['Version'] for v in lam.list_versions_by_function(FunctionName='{function}')['Versions']],
    'no_function': refusal(lambda: lam.get_function(FunctionName='{function}-missing')),
    'stage': gw.get_stage(restApiId='{api}', stageName='green')['stageName'],
    'no_stage': refusal(lambda: gw.get_stage(restApiId='{api}', stageName='missing')),
    'repository': ecr.describe_repositories(repositoryNames=['{function}'])['repositories'][0]['repositoryName'],
    'images': len(ecr.describe_images(repositoryName='{function}')['imageDetails']),
    'no_repository': refusal(lambda: ecr.describe_repositories(repositoryNames=['{function}-missing'])),
}}))
"#
        ),
    );
    let expected = serde_json::json!({
        "package": "Image",
        "green": "1",
        "versions": ["$LATEST", "1", "2"],
        "no_function": ["ResourceNotFoundException", 404],
        "stage": "green",
        "no_stage": ["NotFoundException", 404],
        "repository": function,
        "images": 2,
        "no_repository": ["RepositoryNotFoundException", 400],
    });
    assert_eq!(seen, expected);
}

/// A new user's client set up by `cargo xtask local env` alone (no endpoint, region or keys of
/// its own) reaches the local cloud: botocore, under boto3 and the aws CLI v1, reads
/// `AWS_DEFAULT_REGION`, not `AWS_REGION` (with `local env` as it was, every call of the aws CLI
/// said "You must specify a region").
#[tokio::test]
async fn boto3_set_up_by_local_env_alone_reaches_the_local_cloud() {
    let local = Running::up().await;
    let sh = xshell::Shell::new().unwrap();
    let bin = bgd_core::setup::ensure_moto(&sh).unwrap();
    let mut python = std::process::Command::new(bin.join("python3"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("AWS_")) {
        python.env_remove(name);
    }
    let script = "import boto3; print(len(boto3.client('lambda').list_functions()['Functions']), len(boto3.client('cloudwatch').describe_alarms()['MetricAlarms']))";
    let out = python
        .envs(local.endpoints.env())
        .args(["-c", script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "boto3 with `local env` alone: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0 0");
}

/// Accounts as a client meets them: the access key id names the account (12 digits; any other
/// key is the default account), a role assumed in another account gives credentials of that
/// account (GetCallerIdentity says so, and what they write is that account's, in moto and in
/// the front's own books alike: CloudWatch's alarms live in the front alone), and a name that
/// exists only in another account is not found in the caller's, as AWS answers.
#[tokio::test]
async fn boto3_acts_as_the_account_its_keys_or_its_assumed_role_name() {
    let local = Running::up().await;
    let url = &local.endpoints.front_url;
    let seen = boto3(
        &local,
        &format!(
            r#"
def client(service, key, token=None, secret='local'):
    return boto3.client(service, endpoint_url='{url}', region_name='us-east-1',
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
def refusal(call):
    try:
        call()
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
role = 'arn:aws:iam::222222222222:role/deployer'
creds = client('sts', '111111111111').assume_role(RoleArn=role, RoleSessionName='e2e')['Credentials']
def assumed(service, creds=creds):
    return client(service, creds['AccessKeyId'], creds['SessionToken'], creds['SecretAccessKey'])
oidc = client('sts', 'local').assume_role_with_web_identity(RoleArn='arn:aws:iam::333333333333:role/ci',
    RoleSessionName='gha', WebIdentityToken='token')['Credentials']
assumed('cloudwatch').put_metric_alarm(AlarmName='errors', MetricName='Errors',
    Namespace='AWS/Lambda', Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1,
    ComparisonOperator='GreaterThanOrEqualToThreshold')
api = assumed('apigateway').create_rest_api(name='twin')['id']
alarms = lambda key: [a['AlarmArn'] for a in client('cloudwatch', key).describe_alarms()['MetricAlarms']]
print(json.dumps({{
    'identity': [client('sts', key).get_caller_identity()['Account']
        for key in ('111111111111', '222222222222', 'local')]
        + [assumed('sts').get_caller_identity()['Account'],
           assumed('sts', oidc).get_caller_identity()['Account']],
    'alarms': [alarms('222222222222'), alarms('111111111111')],
    'api': client('apigateway', '222222222222').get_rest_api(restApiId=api)['name'],
    'no_api': refusal(lambda: client('apigateway', '111111111111').get_rest_api(restApiId=api)),
}}))
"#
        ),
    );
    let expected = serde_json::json!({
        "identity": ["111111111111", "222222222222", "123456789012", "222222222222", "333333333333"],
        "alarms": [["arn:aws:cloudwatch:us-east-1:222222222222:alarm:errors"], []],
        "api": "twin",
        "no_api": ["NotFoundException", 404],
    });
    assert_eq!(seen, expected);
}
